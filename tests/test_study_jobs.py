"""The workflow's job runner: a kernel that fails to start is retried once; a failing cell is not."""
from __future__ import annotations

import pytest

from faceinpaint_core.study import jobs


def _args(tmp_path, notebook="00_data"):
    return jobs.build_parser().parse_args(["notebook", notebook, "--profile", "tiny", "--out-root", str(tmp_path),
                                           "--executed", str(tmp_path / "x.ipynb")])


def test_kernel_start_failure_is_retried_once(tmp_path, monkeypatch, capsys):
    import papermill as pm

    calls = []

    def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(pm, "execute_notebook", flaky)
    assert jobs.run_notebook(_args(tmp_path)) == 0
    assert len(calls) == 2 and "retrying with a fresh kernel" in capsys.readouterr().err


def test_kernel_failing_twice_gives_up(tmp_path, monkeypatch, capsys):
    import papermill as pm

    def dead(*a, **k):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(pm, "execute_notebook", dead)
    assert jobs.run_notebook(_args(tmp_path)) == 1
    assert "giving up" in capsys.readouterr().err


def test_a_failing_cell_is_not_retried(tmp_path, monkeypatch, capsys):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    calls = []

    def broken(*a, **k):
        calls.append(1)
        raise PapermillExecutionError(3, 4, "x = 1", "ValueError", "bad value", [])

    monkeypatch.setattr(pm, "execute_notebook", broken)
    assert jobs.run_notebook(_args(tmp_path)) == 1
    err = capsys.readouterr().err
    assert len(calls) == 1 and "failed in cell 3" in err and "ValueError: bad value" in err


@pytest.mark.parametrize("notebook", ["99_nope"])
def test_unknown_notebook_is_one_line(tmp_path, notebook):
    assert jobs.main(["notebook", notebook, "--profile", "tiny", "--out-root", str(tmp_path),
                      "--executed", str(tmp_path / "x.ipynb")]) == 2
