"""The workflow's code inputs: a method's jobs depend on its own files and the shared core, not on other methods."""
from __future__ import annotations

from pathlib import Path

import pytest

from faceinpaint_core.study import workflow as W
from faceinpaint_core.study.codedeps import PACKAGE_DIR, code_closure, imported_modules


def _rel(files) -> set[str]:
    return {Path(f).resolve().relative_to(PACKAGE_DIR).as_posix() for f in files if str(f).endswith(".py")}


@pytest.mark.parametrize("method,own,foreign", [
    ("clgn", {"methods/clgn.py", "nets/clgn.py", "nets/blocks/gam.py"}, {"nets/facestyle.py", "methods/facestyle.py"}),
    ("facestyle", {"methods/facestyle.py", "nets/facestyle.py", "nets/blocks/region_norm.py"},
     {"nets/clgn.py", "methods/clgn.py", "nets/parser.py"}),
    # the GAN baselines share the pix2pix initialisation (nets/blocks/init.py), not CLGN's network file, so a
    # CLGN edit does not retrain them
    ("deepfill2", {"methods/gan_inpaint.py", "nets/blocks/init.py"}, {"nets/clgn.py", "methods/clgn.py"}),
    ("ce", {"methods/gan_inpaint.py", "nets/blocks/init.py"}, {"nets/clgn.py", "methods/clgn.py"}),
])
def test_method_code_is_its_files_plus_the_shared_core(method, own, foreign) -> None:
    files = _rel(W.train_code(method))
    assert own <= files and not (foreign & files)
    assert {"train/trainer.py", "eval/protocol.py", "methods/base.py", "__init__.py"} <= files


def test_lazy_and_relative_imports_are_followed(tmp_path) -> None:
    pkg = tmp_path / "faceinpaint_core"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("def f():\n    from .y import g\n    from .. import b\n")
    (pkg / "a" / "y.py").write_text("import os\n")
    (pkg / "b.py").write_text("")
    (pkg / "c.py").write_text("")
    assert imported_modules(pkg / "a" / "x.py", pkg) >= {"faceinpaint_core.a.y", "faceinpaint_core.b"}
    files = {p.relative_to(pkg).as_posix() for p in code_closure(["faceinpaint_core.a.x"], pkg)}
    assert files == {"__init__.py", "a/__init__.py", "a/x.py", "a/y.py", "b.py"}
    with pytest.raises(ValueError, match="no module file"):
        code_closure(["faceinpaint_core.nope"], pkg)


def test_notebook_code_includes_the_notebook_and_its_imports() -> None:
    files = W.notebook_code("20_tables")
    assert files[0].endswith("notebooks/20_tables.ipynb")
    assert "study/tables.py" in _rel(files)


@pytest.mark.parametrize("stem", ["00_data", "01_classical_floor", "03_train_parser"])
def test_upstream_notebooks_do_not_depend_on_the_tables_or_the_report(stem) -> None:
    files = _rel(W.notebook_code(stem))
    assert not {"study/tables.py", "study/report.py", "methods/clgn.py"} & files, files
