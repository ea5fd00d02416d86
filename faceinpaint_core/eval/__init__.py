"""Evaluation protocol: predictors, frozen mask sets, per-image metrics, seed-shaped tables."""
from .protocol import EvalSpec, add_average, evaluate, format_table, load_faces, prepare_mask_sets, write_results

__all__ = ["EvalSpec", "add_average", "evaluate", "format_table", "load_faces", "prepare_mask_sets", "write_results"]
