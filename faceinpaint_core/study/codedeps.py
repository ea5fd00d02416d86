"""Which package files a study job really uses: the static import closure of its entry modules.

The workflow (``workflow/Snakefile``) declares these files as a job's code inputs, so editing
``nets/facestyle.py`` reruns facestyle's jobs (and the tables and report that consume their outputs)
but never CLGN's training. The closure is computed from the source with :mod:`ast` (nothing is
imported): every ``import faceinpaint_core.x`` / ``from ..x import y`` anywhere in a file, including the
lazy imports inside functions, plus the ``__init__.py`` of every package on the way (Python runs them).
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = "faceinpaint_core"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def module_file(module: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """``faceinpaint_core.a.b`` → ``<package>/a/b.py`` or ``<package>/a/b/__init__.py`` (None if neither)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _module_name(path: Path, package_dir: Path) -> str:
    rel = path.relative_to(package_dir).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` names (``from ..x import y`` → ``faceinpaint_core.x``)."""
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: Path, package_dir: Path = PACKAGE_DIR) -> set[str]:
    """Package modules that ``path`` imports anywhere in its body (module names, possibly submodules)."""
    return set(_imported_modules(path, package_dir, path.stat().st_mtime_ns))


@lru_cache(maxsize=None)
def _imported_modules(path: Path, package_dir: Path, mtime_ns: int) -> frozenset[str]:
    # each file is parsed once per version (the workflow asks for ~80 closures that share most files)
    current, is_pkg = _module_name(path, package_dir), path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(node, current, is_pkg)
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # `from . import trainer` names a module
    return frozenset(m for m in found if m.split(".")[0] == PACKAGE)


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@lru_cache(maxsize=None)
def _closure(entries: tuple[str, ...], package_dir: Path) -> tuple[Path, ...]:
    seen: set[Path] = set()
    visited: set[str] = set()
    todo = [m for e in entries for m in _with_parents(e)]
    while todo:
        module = todo.pop()
        if module in visited:
            continue
        visited.add(module)
        path = module_file(module, package_dir)
        if path is None or path in seen:
            continue
        seen.add(path)
        for mod in imported_modules(path, package_dir):
            todo.extend(_with_parents(mod))
    return tuple(sorted(seen))


def code_closure(entries, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Sorted package files reachable by imports from the ``entries`` modules (dotted names)."""
    missing = [e for e in entries if module_file(e, package_dir) is None]
    if missing:
        raise ValueError(f"no module file for {missing} under {package_dir}")
    return list(_closure(tuple(sorted(entries)), Path(package_dir)))


def method_module(name: str) -> str:
    """The module a registered method lives in (from the registry's ``"module:Class"`` string)."""
    from ..methods import METHODS

    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    return METHODS[name].split(":")[0]
