"""Face data: dataset readers, the patent's 8-region parsing map, seeded splits, synthetic faces."""
from .datasets import DATASETS, FaceDataset, open_dataset
from .parsing import N_REGIONS, REGIONS, celebamask_to_regions, colorize, regions_onehot
from .splits import make_splits, read_splits, write_splits
from .synthetic import SyntheticFaces, render_face, write_synthetic_folder

__all__ = ["DATASETS", "FaceDataset", "N_REGIONS", "REGIONS", "SyntheticFaces", "celebamask_to_regions",
           "colorize", "make_splits", "open_dataset", "read_splits", "regions_onehot", "render_face",
           "write_splits", "write_synthetic_folder"]
