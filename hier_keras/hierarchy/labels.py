"""Label rows checked against a tree: completion, validation, consistency, LCA height.

`Hierarchy`'s label methods (`complete`, `validate_labels`, `path_is_valid`,
`lca_height`) delegate here; every function takes the tree first.

Example:

>>> from hier_keras import Hierarchy
>>> complete(Hierarchy.fashion_mnist(), [9]).tolist()
[[1, 5, 9]]
"""

from __future__ import annotations

import numpy as np

UNKNOWN = -1
"""Label value: finer labels unknown (or, after a leaf, the path has ended)."""
END = -2
"""Label value: the path ends here, at an internal node (general trees)."""


def complete(tree, labels, level=None) -> np.ndarray:
    """`Hierarchy.complete` (see its docstring)."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        level = tree.depth - 1 if level is None else tree.level_index(level)
        ids = labels.astype(np.int64)
        _check_range(tree, ids, level)
        out = np.full((ids.shape[0], tree.depth), UNKNOWN, np.int32)
        out[:, level] = ids
        for l in range(level, 0, -1):
            out[:, l - 1] = tree.parents[l][out[:, l]]
        return out
    _check_shape(tree, labels)
    out = labels.astype(np.int32).copy()
    for l in range(tree.depth - 1, 0, -1):
        known = out[:, l] >= 0
        _check_range(tree, out[known, l], l)
        implied = tree.parents[l][out[known, l]]
        given = out[known, l - 1]
        clash = (given >= 0) & (given != implied)
        if clash.any():
            row = int(np.flatnonzero(known)[np.flatnonzero(clash)[0]])
            _raise_inconsistent(tree, row, l, out[row])
        out[known, l - 1] = implied
    validate_labels(tree, out, allow_end=True)
    return out


def _integer_ids(arr, what):
    """`arr` as integer ids; floats must be whole numbers (a ValueError otherwise)."""
    if np.issubdtype(arr.dtype, np.integer):
        return arr
    if not np.all(np.mod(arr, 1) == 0):
        raise ValueError(f"{what} must be integer class ids; received non-integers.")
    return arr.astype(np.int64)


def validate_labels(tree, labels, allow_end=None) -> np.ndarray:
    """`Hierarchy.validate_labels` (see its docstring)."""
    labels = np.asarray(labels)
    _check_shape(tree, labels)
    labels = _integer_ids(labels, "Labels").astype(np.int32)
    if labels.size == 0:
        return labels
    if (labels < END).any():
        row = int(np.flatnonzero((labels < END).any(axis=1))[0])
        raise ValueError(
            f"Label row {row} {labels[row].tolist()} has a value below {END}; use ids "
            f">= 0, {UNKNOWN} for unknown and {END} for an explicit end of path."
        )
    for level in range(tree.depth):
        col = labels[:, level]
        known = col >= 0
        _check_range(tree, col[known], level, rows=np.flatnonzero(known))
    for level in range(1, tree.depth):
        prev, cur = labels[:, level - 1], labels[:, level]
        gap = (prev < 0) & (cur >= 0)
        if gap.any():
            row = int(np.flatnonzero(gap)[0])
            raise ValueError(
                f"Label row {row} {labels[row].tolist()} has a known level-{level} label "
                f"below an unknown level-{level - 1} label; call "
                "`hierarchy.complete(labels)` to fill coarser levels from finer ones."
            )
        both = (prev >= 0) & (cur >= 0)
        bad = both.copy()
        bad[both] = tree.parents[level][cur[both]] != prev[both]
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            _raise_inconsistent(tree, row, level, labels[row])
    ends = labels == END
    if ends.any():
        if allow_end is False:
            row = int(np.flatnonzero(ends.any(axis=1))[0])
            raise ValueError(
                f"Label row {row} {labels[row].tolist()} uses the end marker {END}, "
                "which this model does not accept; use -1 for unknown labels."
            )
        for row in np.flatnonzero(ends.any(axis=1)):
            r = labels[row]
            first = int(np.flatnonzero(r == END)[0])
            ok = (
                first > 0
                and r[first - 1] >= 0
                and not tree.is_leaf(first - 1)[r[first - 1]]
                and (r[first + 1 :] < 0).all()
            )
            if not ok:
                raise ValueError(
                    f"Label row {int(row)} {r.tolist()}: the end marker {END} may only "
                    "follow the last node of a path that stops at an internal node."
                )
    return labels


def _check_shape(tree, labels):
    """Internal check."""
    if labels.ndim != 2 or labels.shape[1] != tree.depth:
        raise ValueError(
            f"Labels must have shape (batch, {tree.depth}) for this {tree.depth}-level "
            f"tree (levels {tree.level_names}); received shape {tuple(labels.shape)}. "
            "For single-level ids use `hierarchy.complete(ids, level=...)`."
        )


def _check_range(tree, ids, level, rows=None):
    """Internal check."""
    ids = np.asarray(ids)
    bad = (ids < 0) | (ids >= tree.level_sizes[level])
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        where = f" (row {int(rows[k])})" if rows is not None else ""
        raise ValueError(
            f"Label {int(ids[k])}{where} is out of range for level {level} "
            f"({tree.level_names[level]!r}), which has {tree.level_sizes[level]} "
            f"classes (ids 0..{tree.level_sizes[level] - 1})."
        )


def _raise_inconsistent(tree, row, level, path):
    """Internal check."""
    fine = int(path[level])
    coarse = int(path[level - 1])
    true_parent = int(tree.parents[level][fine])
    raise ValueError(
        f"Inconsistent labels in row {row} {list(map(int, path))}: level-{level} class "
        f"{tree.class_names[level][fine]!r} (id {fine}) has parent "
        f"{tree.class_names[level - 1][true_parent]!r} (id {true_parent}), not the given "
        f"level-{level - 1} label {coarse}. Fix the coarse label or pass the fine "
        "labels alone to `hierarchy.complete`."
    )


def path_is_valid(tree, paths) -> np.ndarray:
    """`Hierarchy.path_is_valid` (see its docstring)."""
    paths = np.asarray(paths)
    _check_shape(tree, paths)
    paths = _integer_ids(paths, "Paths")
    ok = np.ones(paths.shape[0], dtype=bool)
    alive = paths[:, 0] >= 0
    for level in range(1, tree.depth):
        cur = paths[:, level]
        step = alive & (cur >= 0)
        good = np.ones_like(ok)
        in_range = cur < tree.level_sizes[level]
        good[step] = in_range[step]
        idx = step & in_range
        good[idx] = tree.parents[level][cur[idx]] == paths[idx, level - 1]
        ok &= good
        alive &= cur >= 0
    return ok


def lca_height(tree, paths_a, paths_b) -> np.ndarray:
    """`Hierarchy.lca_height` (see its docstring)."""
    a, b = np.asarray(paths_a), np.asarray(paths_b)
    _check_shape(tree, a)
    _check_shape(tree, b)
    len_a = (a >= 0).cumprod(axis=1).sum(axis=1)
    len_b = (b >= 0).cumprod(axis=1).sum(axis=1)
    same = ((a == b) & (a >= 0)).cumprod(axis=1).sum(axis=1)
    return np.maximum(len_a, len_b) - same
