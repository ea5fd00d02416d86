"""git provenance: code changes mark results `-dirty`, the study's own outputs do not."""
from __future__ import annotations

import subprocess

import pytest

import faceinpaint_core.utils.provenance as P


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for rel in ("code.py", "results/table.csv", "figures/README.md", "reports/report.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("v1\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(P, "REPO_ROOT", tmp_path)
    P.git_sha.cache_clear()
    yield tmp_path
    P.git_sha.cache_clear()


def _sha(repo) -> str:
    P.git_sha.cache_clear()
    return P.git_sha()


def test_clean_tree_and_study_outputs_are_not_dirty(repo) -> None:
    assert not P.is_dirty(_sha(repo))
    for rel in ("results/table.csv", "reports/report.md"):
        (repo / rel).write_text("written by the study\n")
    (repo / "results" / "new.csv").write_text("new result\n")
    assert not P.is_dirty(_sha(repo))


@pytest.mark.parametrize("change", ["modify", "untracked"])
def test_code_changes_are_dirty(repo, change) -> None:
    if change == "modify":
        (repo / "code.py").write_text("v2\n")
    else:
        (repo / "new_method.py").write_text("x = 1\n")
    assert P.is_dirty(_sha(repo)) and len(_sha(repo)) == 40 + len(P.DIRTY_SUFFIX)


def test_provenance_records_the_thread_count() -> None:
    """A CPU run reproduces bit for bit only with the same thread count, so the count is part of its provenance."""
    import torch

    from faceinpaint_core.utils.provenance import provenance

    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert provenance()["torch_threads"] == 1
    finally:
        torch.set_num_threads(old)
    assert provenance(seed=3)["torch_threads"] == old
