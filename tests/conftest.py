"""Shared, cheap pytest fixtures: synthetic face folders (no real data needed).

The folders are session-scoped and shared between tests: copy them (``shutil.copytree``) before
modifying anything inside.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from faceinpaint_core.data.synthetic import write_synthetic_folder

FIXTURE_SIZE = 64
FIXTURE_N = 12


@pytest.fixture(scope="session")
def synthetic_faces_dir(tmp_path_factory) -> Path:
    """A plain folder holding 12 synthetic 64x64 faces ``00000.png`` .. ``00011.png`` (no labels)."""
    out = tmp_path_factory.mktemp("synthetic_faces")
    write_synthetic_folder(out, FIXTURE_N, FIXTURE_SIZE, seed=0, with_labels=False)
    return out / "images"


@pytest.fixture(scope="session")
def celebamask_layout_dir(tmp_path_factory) -> Path:
    """A tiny CelebAMask-HQ combined layout: ``images/<id>.jpg`` + ``labels/<id>.png`` (palette ids), 12 faces at 64 px."""
    out = tmp_path_factory.mktemp("celebamask_layout")
    write_synthetic_folder(out, FIXTURE_N, FIXTURE_SIZE, seed=0, with_labels=True, image_ext=".jpg")
    return out


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    """``$FACEINPAINT_DATA`` for ``realdata`` tests; skips the test when unset."""
    root = os.environ.get("FACEINPAINT_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("FACEINPAINT_DATA is not set to the real datasets folder")
    return Path(root)
