"""The lock file, environment.yml, pyproject and the Makefile agree: a reviewer a year from now gets these versions."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
TORCH_STACK = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*)$")


def norm(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {norm(m.group(1)): m.group(2) for line in text.splitlines() if (m := PIN.match(line))}


def env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def env_pip_pins() -> dict[str, str]:
    pip = next(d["pip"] for d in env()["dependencies"] if isinstance(d, dict))
    pins = [PIN.match(p) for p in pip if not p.startswith("-e")]
    assert all(pins), f"unpinned pip entries in environment.yml: {[p for p in pip if not PIN.match(p)]}"
    return {norm(m.group(1)): m.group(2) for m in pins}


def makefile_var(name: str) -> str:
    m = re.search(rf"^{name}\s*:?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, f"Makefile defines no {name}"
    return m.group(1).strip()


def test_every_lock_entry_is_pinned_and_hashed():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])  # after uv's two header lines
    for block in blocks:
        if block.strip() and not block.lstrip().startswith("#"):
            assert PIN.match(block) and "--hash=sha256:" in block, block.splitlines()[0]
    assert len(lock_pins()) > 50


def test_environment_yml_lists_exactly_the_lock():
    assert env_pip_pins() == lock_pins()


def test_environment_yml_uses_conda_forge_pytorch_with_the_makefile_pins():
    data = env()
    assert data["channels"] == ["conda-forge"]
    conda = [d for d in data["dependencies"] if isinstance(d, str)]
    torch_pins = dict(p.split("==") for p in makefile_var("TORCH_PINS").split())
    assert f"pytorch={torch_pins['torch']}" in conda and f"torchvision={torch_pins['torchvision']}" in conda
    assert f"python={makefile_var('LOCK_PY')}" in conda


def test_lock_leaves_the_torch_stack_to_the_torch_pins():
    assert not [n for n in lock_pins() if TORCH_STACK.match(n)]


def test_lock_covers_every_declared_dependency():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"]) + [d for ds in project["optional-dependencies"].values() for d in ds]
    names = {norm(re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0]) for d in declared}
    missing = {n for n in names if n not in lock_pins() and not TORCH_STACK.match(n)}
    assert not missing, f"declared in pyproject.toml but not locked: {missing} (run `make lock`)"


def test_setup_installs_from_the_lock_with_hashes():
    setup = (ROOT / "Makefile").read_text().split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes -r $(LOCK)" in setup and "--no-deps" in setup
    assert setup.index("$(TORCH_PINS)") < setup.index("-r $(LOCK)")  # torch first, then nothing re-resolves it


def test_installed_versions_match_the_lock():
    """Run by `make test` after `make setup`: the environment is the locked one (a stale venv: rerun make setup)."""
    wrong = {}
    for name, version in lock_pins().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "absent"
        if have != version:
            wrong[name] = f"{have} (lock {version})"
    if wrong and not (ROOT / ".venv" / ".faceinpaint-installed").is_file():
        pytest.skip(f"not a `make setup` environment; differs from the lock in {sorted(wrong)}")
    assert not wrong, f"installed versions differ from requirements.lock: {wrong}; run `make setup`"
