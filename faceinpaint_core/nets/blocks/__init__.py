"""Reusable network blocks (one concept per module): GAM, residual blocks, ...

Import from the block's own module (``faceinpaint_core.nets.blocks.gam``); the names below are
re-exported for convenience.
"""
from .gam import GlobalAttentionModule
from .residual import ResidualBlock

__all__ = ["GlobalAttentionModule", "ResidualBlock"]
