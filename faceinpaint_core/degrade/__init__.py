"""GFPGAN's synthetic face degradation (on the fly, seeded) and its frozen evaluation sets."""
from .pipeline import (FULL_RANGES, SEVERITIES, TRAINING_SAMPLINGS, DegradationParams, Ranges, degrade, degrade_batch,
                       gaussian_kernel, sample_params, sample_training_params)
from .eval_sets import build_degradation_set, degrade_with_set, load_degradation_set, degradation_set_dirname

__all__ = ["FULL_RANGES", "SEVERITIES", "TRAINING_SAMPLINGS", "DegradationParams", "Ranges", "degrade", "degrade_batch",
           "gaussian_kernel", "sample_params", "sample_training_params", "build_degradation_set", "degrade_with_set",
           "load_degradation_set", "degradation_set_dirname"]
