"""Building a `Hierarchy` from parent links, nested dicts, paths, tables and folders.

`Hierarchy.from_parents` / `from_nested` / `from_paths` / `from_dataframe` /
`from_csv` / `from_folder` delegate here; every function takes the class first.

Example:

>>> from hier_keras import Hierarchy
>>> from_paths(Hierarchy, [["A", "a1"], ["B"]]).level_sizes
[2, 1]
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Iterable, Mapping, Sequence

import numpy as np


def from_parents(cls, parent_of, level_names=None):
    """`Hierarchy.from_parents` (see its docstring)."""
    pairs = list(parent_of.items()) if isinstance(parent_of, Mapping) else list(parent_of)
    parent = OrderedDict()
    for child, par in pairs:
        if child in parent:
            if parent[child] == par:
                raise ValueError(f"Duplicate name {child!r} under parent {par!r}.")
            raise ValueError(
                f"Class {child!r} has two parents ({parent[child]!r} and {par!r}); "
                "a tree gives every class one parent."
            )
        parent[child] = par
    roots = {p for p in parent.values() if p is not None and p not in parent}
    if len(roots) > 1:
        raise ValueError(
            f"Orphan classes: parents {sorted(map(str, roots))} are never defined. Name "
            "one root (or give level-0 classes the parent None)."
        )
    for child in parent:
        if parent[child] in roots:
            parent[child] = None
    order, depth_of = [], {}

    def depth(node, trail):
        if node in depth_of:
            return depth_of[node]
        if node in trail:
            cycle = trail[trail.index(node) :] + [node]
            raise ValueError(f"Cycle in the hierarchy: {' -> '.join(map(str, cycle))}.")
        p = parent[node]
        d = 0 if p is None else depth(p, trail + [node]) + 1
        depth_of[node] = d
        return d

    for node in parent:
        depth(node, [])
        order.append(node)
    n_levels = max(depth_of.values()) + 1
    names = [[n for n in order if depth_of[n] == l] for l in range(n_levels)]
    index = [{n: j for j, n in enumerate(level)} for level in names]
    parents = [None] + [
        [index[l - 1][parent[n]] for n in names[l]] for l in range(1, n_levels)
    ]
    return cls(names, parents, level_names)


def from_nested(cls, tree, level_names=None):
    """`Hierarchy.from_nested` (see its docstring)."""
    pairs = []

    def walk(node, parent):
        if node is None:
            return
        if isinstance(node, Mapping):
            items = node.items()
        elif isinstance(node, (list, tuple)):
            items = [(n, None) for n in node]
        else:
            raise ValueError(
                f"Unexpected {type(node).__name__} under {parent!r}; use dicts for "
                "internal nodes and lists (or None) for leaves."
            )
        for name, sub in items:
            pairs.append((name, parent))
            walk(sub, name)

    walk(tree, None)
    return from_parents(cls, pairs, level_names)


def from_paths(cls, paths: Iterable[Sequence[str]], level_names=None):
    """`Hierarchy.from_paths` (see its docstring)."""
    names, parents, index = [], [], []
    for path in paths:
        path = [p for p in path if p is not None and not (isinstance(p, float) and np.isnan(p))]
        parent = -1
        for level, name in enumerate(map(str, path)):
            while len(names) <= level:
                names.append([])
                parents.append([])
                index.append({})
            if name in index[level]:
                j = index[level][name]
                if parents[level][j] != parent:
                    other = names[level - 1][parents[level][j]] if level else None
                    raise ValueError(
                        f"Class {name!r} at level {level} appears under {other!r} and "
                        f"under {names[level - 1][parent]!r}; a tree gives every class "
                        "one parent (rename one of them)."
                    )
            else:
                j = len(names[level])
                index[level][name] = j
                names[level].append(name)
                parents[level].append(parent)
            parent = j
    if not names:
        raise ValueError("No paths given.")
    return cls(names, [None] + parents[1:], level_names)


def from_dataframe(cls, df, columns=None, level_names=None):
    """`Hierarchy.from_dataframe` (see its docstring)."""
    columns = list(columns) if columns is not None else list(df.columns)
    if level_names is None:
        level_names = [str(c) for c in columns]
    rows = df[columns].astype(object).where(df[columns].notna(), None).values.tolist()
    paths = [[v for v in row if v is not None and str(v) != ""] for row in rows]
    for row, path in zip(rows, paths):
        if any(v is None or str(v) == "" for v in row[: len(path)]):
            raise ValueError(f"Row {row} has an empty cell above a filled one.")
    return from_paths(cls, paths, level_names)


def from_csv(cls, path, columns=None, level_names=None, **read_csv_kwargs):
    """`Hierarchy.from_csv` (see its docstring)."""
    import pandas as pd

    return from_dataframe(cls, pd.read_csv(path, **read_csv_kwargs), columns, level_names)


def from_folder(cls, root, level_names=None):
    """`Hierarchy.from_folder` (see its docstring)."""
    if not os.path.isdir(root):
        raise ValueError(f"Folder {root!r} does not exist.")
    paths = []

    def walk(folder, trail):
        subs = sorted(
            d for d in os.listdir(folder)
            if not d.startswith(".") and os.path.isdir(os.path.join(folder, d))
        )
        if not subs:
            if trail:
                paths.append(trail)
            return
        for d in subs:
            walk(os.path.join(folder, d), trail + [d])

    walk(root, [])
    if not paths:
        raise ValueError(f"Folder {root!r} has no class subfolders.")
    return from_paths(cls, paths, level_names)
