"""Face-verification pairs in the LFW protocol's shape, generated from a seed and frozen with a hash.

LFW's "view 2" (Huang et al. 2007) holds 10 folds of 300 same-person and 300 different-person pairs,
with no person in two folds; accuracy is the mean over the folds of a threshold chosen on the other
nine (:mod:`faceinpaint_core.metrics.verification`). :func:`make_pairs` builds such a protocol for any
identity-labelled face set (the held-out CelebA identities here):

1. identities are dealt to folds in one seeded order (``rng(seed, "pairs-folds")``), the identities
   with two or more images first, so every fold gets its share of them: **folds are identity-disjoint**;
2. per fold, ``pairs_per_fold / 2`` *same* pairs: identities are visited in a seeded order, one new
   image pair per identity per round, until enough (``rng(seed, "pairs-same", fold)``);
3. and as many *different* pairs: two distinct identities of the fold and one image of each
   (``rng(seed, "pairs-diff", fold)``), never the same pair twice.

A protocol is frozen as ``pairs.csv`` (columns :data:`COLUMNS`) + ``manifest.json`` whose sha256
covers the parameters and the CSV bytes (like the frozen mask sets); :func:`load_pairs` refuses files
that do not match it. :func:`read_lfw_pairs` reads LFW's own ``pairs.txt`` / ``pairsDevTest.txt``
into the same table, so the standard benchmark runs through the same code.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..utils.io import atomic_write_json, atomic_write_text, sha256_bytes
from ..utils.seeding import rng

FORMAT_VERSION = 1
COLUMNS = ("fold", "same", "file_a", "file_b", "identity_a", "identity_b")
LFW_IMAGE = "{name}/{name}_{num:04d}.jpg"


def _deal_folds(by_identity: dict[str, list[str]], n_folds: int, seed: int) -> list[list[str]]:
    """Identities dealt round-robin to folds in a seeded order, multi-image identities first."""
    ids = sorted(by_identity)
    multi = [i for i in ids if len(by_identity[i]) >= 2]
    single = [i for i in ids if len(by_identity[i]) < 2]
    g = rng(seed, "pairs-folds")
    order = [multi[k] for k in g.permutation(len(multi))] + [single[k] for k in g.permutation(len(single))]
    return [order[f::n_folds] for f in range(n_folds)]


def _same_pairs(fold_ids: list[str], by_identity, n: int, g, fold: int) -> list[tuple[str, str, str]]:
    """``n`` distinct same-identity image pairs, one per identity per round."""
    pools = {}
    for ident in fold_ids:
        files = sorted(by_identity[ident])
        combos = [(a, b) for i, a in enumerate(files) for b in files[i + 1:]]
        if combos:
            pools[ident] = [combos[k] for k in g.permutation(len(combos))]
    order = sorted(pools)
    order = [order[k] for k in g.permutation(len(order))]
    out, rnd = [], 0
    while len(out) < n:
        active = [i for i in order if rnd < len(pools[i])]
        if not active:
            raise ValueError(f"fold {fold}: only {len(out)} same-identity pairs are possible from its "
                             f"{len(pools)} identities with 2+ images, fewer than {n}; lower pairs_per_fold")
        out += [(i, *pools[i][rnd]) for i in active[:n - len(out)]]
        rnd += 1
    return out


def _diff_pairs(fold_ids: list[str], by_identity, n: int, g, fold: int) -> list[tuple[str, str, str, str]]:
    """``n`` distinct different-identity pairs ``(id_a, file_a, id_b, file_b)``."""
    if len(fold_ids) < 2:
        raise ValueError(f"fold {fold}: {len(fold_ids)} identity, different-identity pairs need 2 or more")
    seen, out = set(), []
    for _ in range(50 * n + 100):
        a, b = (fold_ids[k] for k in g.choice(len(fold_ids), 2, replace=False))
        fa = by_identity[a][int(g.integers(len(by_identity[a])))]
        fb = by_identity[b][int(g.integers(len(by_identity[b])))]
        key = tuple(sorted((fa, fb)))
        if key not in seen:
            seen.add(key)
            out.append((a, fa, b, fb))
            if len(out) == n:
                return out
    raise ValueError(f"fold {fold}: could not draw {n} distinct different-identity pairs; lower pairs_per_fold")


def make_pairs(table: dict[str, str], n_folds: int = 10, pairs_per_fold: int = 600, seed: int = 0) -> pd.DataFrame:
    """Verification pairs (see the module docstring).

    Args:
        table: ``{image file: identity}`` of the faces to pair (e.g. the held-out identities).
        n_folds: number of identity-disjoint folds (LFW: 10).
        pairs_per_fold: even; half same-identity, half different (LFW: 600).
        seed: protocol seed.
    Returns:
        DataFrame with :data:`COLUMNS` (``same`` is 1 / 0), fold by fold, same pairs first.
    """
    if n_folds < 2 or pairs_per_fold < 2 or pairs_per_fold % 2:
        raise ValueError(f"make_pairs needs n_folds >= 2 and an even pairs_per_fold >= 2, "
                         f"got {n_folds}, {pairs_per_fold}")
    by_identity: dict[str, list[str]] = {}
    for f, ident in sorted(table.items()):
        by_identity.setdefault(str(ident), []).append(f)
    rows = []
    for fold, ids in enumerate(_deal_folds(by_identity, n_folds, seed)):
        half = pairs_per_fold // 2
        for ident, fa, fb in _same_pairs(ids, by_identity, half, rng(seed, "pairs-same", fold), fold):
            rows.append((fold, 1, fa, fb, ident, ident))
        for ia, fa, ib, fb in _diff_pairs(ids, by_identity, half, rng(seed, "pairs-diff", fold), fold):
            rows.append((fold, 0, fa, fb, ia, ib))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def pairs_csv_bytes(pairs: pd.DataFrame) -> bytes:
    """The canonical CSV bytes of a pair table (the hashed form)."""
    frame = pairs[list(COLUMNS)].astype({"fold": int, "same": int, "identity_a": str, "identity_b": str})
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def pairs_sha256(params: dict, pairs: pd.DataFrame) -> str:
    """sha256 of the canonical-JSON parameters followed by the canonical CSV bytes."""
    head = json.dumps(params, sort_keys=True, separators=(",", ":")).encode()
    return sha256_bytes(head + b"\n" + pairs_csv_bytes(pairs))


def pairs_summary(pairs: pd.DataFrame) -> dict:
    """Counts of a pair table: pairs, same, different, folds, distinct images and identities."""
    ids = set(pairs["identity_a"].astype(str)) | set(pairs["identity_b"].astype(str))
    return {"n_pairs": len(pairs), "n_same": int(pairs["same"].sum()), "n_diff": int((pairs["same"] == 0).sum()),
            "n_folds": int(pairs["fold"].nunique()), "n_images": len(set(pairs["file_a"]) | set(pairs["file_b"])),
            "n_identities": len(ids)}


def write_pairs(pairs: pd.DataFrame, params: dict, out: str | Path) -> dict:
    """Freeze ``pairs`` into folder ``out`` (``pairs.csv`` + ``manifest.json``); reuse an identical one.

    Raises ``ValueError`` when ``out`` holds a different protocol (remove it or choose another folder).
    """
    out = Path(out)
    params = {"format_version": FORMAT_VERSION, **params}
    sha = pairs_sha256(params, pairs)
    man_path = out / "manifest.json"
    if man_path.is_file():
        old = json.loads(man_path.read_text())
        if old.get("sha256") != sha:
            raise ValueError(f"pairs folder {out} holds another protocol (sha256 {old.get('sha256')} != {sha}); "
                             f"remove it or choose another folder")
        return old
    manifest = {"params": params, "sha256": sha, **pairs_summary(pairs)}
    atomic_write_text(out / "pairs.csv", pairs_csv_bytes(pairs).decode("utf-8"))
    atomic_write_json(man_path, manifest)
    return manifest


def load_pairs(folder: str | Path) -> tuple[pd.DataFrame, dict]:
    """``(pairs, manifest)`` of a frozen protocol, its hash verified (``ValueError`` naming the folder)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        pairs = read_pairs_csv(folder / "pairs.csv")
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"pairs folder {folder}: missing or invalid pairs.csv / manifest.json ({err})") from err
    if pairs_sha256(manifest["params"], pairs) != manifest.get("sha256"):
        raise ValueError(f"pairs folder {folder}: pairs.csv does not match the manifest's sha256 "
                         f"{manifest.get('sha256')} (edited?); rebuild it")
    return pairs, manifest


def read_pairs_csv(path: str | Path) -> pd.DataFrame:
    """A pair table from a CSV with :data:`COLUMNS` (identities read as text)."""
    frame = pd.read_csv(path, dtype={"identity_a": str, "identity_b": str, "file_a": str, "file_b": str})
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: pair table lacks columns {missing}; expected {list(COLUMNS)}")
    return frame[list(COLUMNS)]


def build_pairs(table: dict[str, str], out: str | Path, n_folds: int = 10, pairs_per_fold: int = 600,
                seed: int = 0, source: str = "") -> tuple[pd.DataFrame, dict]:
    """Make (or reuse) the frozen protocol of ``table`` in folder ``out``; ``source`` names the faces (hashed)."""
    pairs = make_pairs(table, n_folds, pairs_per_fold, seed)
    params = {"n_folds": int(n_folds), "pairs_per_fold": int(pairs_per_fold), "seed": int(seed), "source": source}
    manifest = write_pairs(pairs, params, out)
    return load_pairs(out)[0], manifest


# -- LFW's own files ----------------------------------------------------------------------------------

def read_lfw_pairs(path: str | Path) -> pd.DataFrame:
    """LFW ``pairs.txt`` (header ``"<sets> <n>"``) or ``pairsDevTrain/DevTest.txt`` (header ``"<n>"``).

    Each set holds ``n`` matched lines ``name i j`` then ``n`` mismatched lines ``name1 i name2 j``;
    image files are ``<name>/<name>_<i:04d>.jpg`` under the ``lfw`` folder. Set ``k`` becomes fold ``k``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pairs file {path} does not exist")
    lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    try:
        head = [int(x) for x in lines[0]]
        n_sets, n = (1, head[0]) if len(head) == 1 else (head[0], head[1])
    except (IndexError, ValueError):
        raise ValueError(f"{path}: first line must be '<sets> <pairs per class>' or '<pairs per class>' "
                         f"(LFW pairs format)") from None
    body = lines[1:]
    if len(body) != 2 * n * n_sets:
        raise ValueError(f"{path}: header promises {n_sets} set(s) of {n} + {n} pairs = {2 * n * n_sets} lines, "
                         f"found {len(body)}")
    rows = [_lfw_row(path, k + 2, fields, (k // (2 * n))) for k, fields in enumerate(body)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _lfw_row(path: Path, lineno: int, f: list[str], fold: int) -> tuple:
    try:
        if len(f) == 3:
            return (fold, 1, LFW_IMAGE.format(name=f[0], num=int(f[1])), LFW_IMAGE.format(name=f[0], num=int(f[2])),
                    f[0], f[0])
        if len(f) == 4:
            return (fold, 0, LFW_IMAGE.format(name=f[0], num=int(f[1])), LFW_IMAGE.format(name=f[2], num=int(f[3])),
                    f[0], f[2])
    except ValueError:
        pass
    raise ValueError(f"{path}:{lineno}: expected 'name i j' or 'name1 i name2 j', got {' '.join(f)!r}")


def read_pairs_file(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """A pair table from a frozen folder / its ``pairs.csv`` (hash checked) or an LFW ``.txt`` file."""
    path = Path(path)
    if path.is_dir() or path.name == "pairs.csv" and (path.parent / "manifest.json").is_file():
        return load_pairs(path if path.is_dir() else path.parent)
    if not path.is_file():
        raise FileNotFoundError(f"pairs file {path} does not exist")
    if path.suffix.lower() == ".csv":
        pairs = read_pairs_csv(path)
        return pairs, {"sha256": sha256_bytes(pairs_csv_bytes(pairs)), "params": {"source": path.name},
                       **pairs_summary(pairs)}
    pairs = read_lfw_pairs(path)
    return pairs, {"sha256": sha256_bytes(path.read_bytes()),
                   "params": {"source": f"LFW pairs file {path.name}"}, **pairs_summary(pairs)}
