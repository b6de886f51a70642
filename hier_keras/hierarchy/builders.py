"""Building a `Hierarchy` from parent links, nested dicts, paths, tables, folders and JSON.

`Hierarchy.from_parents` / `from_nested` / `from_paths` / `from_dataframe` /
`from_csv` / `from_folder` / `from_json` delegate here; every function takes
the class first.

Names: strings are kept as they are; numbers (`int`, `float`, NumPy scalars,
not `bool`) are converted with `str()` (`3 -> "3"`, `2.5 -> "2.5"`), the same
way everywhere, so `{1: None, 2: 1}` is the tree `"1" -> "2"`. `None`, NaN and
`""` are "no name": a top-level parent in `from_parents`, the end of a path in
`from_paths`. Any other type (lists, dicts, bytes, bool, objects) is refused
with a `ValueError`. Every malformed input (an empty tree, an undefined parent,
a gap inside a path, a missing or unreadable file) is a `ValueError` that names
the value and the fix.

Example:

>>> from hier_keras import Hierarchy
>>> from_paths(Hierarchy, [["A", "a1"], ["B"]]).level_sizes
[2, 1]
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections import OrderedDict
from typing import Iterable, Mapping, Sequence


def _is_empty(value) -> bool:
    """None, NaN or "": no name."""
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    return isinstance(value, numbers.Real) and math.isnan(value)


def _name(value, where):
    """A class name as str (see the module docstring); `ValueError` for other types."""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value.item() if hasattr(value, "item") else value)
    raise ValueError(
        f"Class name {value!r} ({type(value).__name__}) in {where} is not a name; "
        "class names are strings (numbers are converted with str())."
    )


def from_parents(cls, parent_of, level_names=None):
    """`Hierarchy.from_parents` (see its docstring)."""
    if isinstance(parent_of, Mapping):
        pairs = list(parent_of.items())
    elif isinstance(parent_of, (str, bytes)) or not isinstance(parent_of, Iterable):
        raise ValueError(
            f"`parent_of` must be a mapping {{child: parent}} or (child, parent) pairs; "
            f"received {type(parent_of).__name__}."
        )
    else:
        pairs = list(parent_of)
    if not pairs:
        raise ValueError("Empty tree: `parent_of` names no class. Give at least one class.")
    parent = OrderedDict()
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"{pair!r} in `parent_of` is not a (child, parent) pair.")
        child, par = pair
        if _is_empty(child):
            raise ValueError(f"Class {child!r} (parent {par!r}) has no name; name every class.")
        child = _name(child, "`parent_of`")
        par = None if _is_empty(par) else _name(par, "`parent_of`")
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
    if roots and any(p is None for p in parent.values()):
        (root,) = roots
        kids = [c for c, p in parent.items() if p == root]
        top = [c for c, p in parent.items() if p is None]
        raise ValueError(
            f"Undefined parent {root!r} of {kids}: it is never defined as a class, while "
            f"{top} have the parent None. Define it (add {root!r}: None, or its own parent) "
            "or fix the spelling; a shared undefined root is only allowed when it is the "
            "parent of every level-0 class."
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
            if _is_empty(name):
                raise ValueError(f"A class under {parent!r} has no name ({name!r}).")
            name = _name(name, f"the children of {parent!r}")
            pairs.append((name, parent))
            walk(sub, name)

    walk(tree, None)
    if not pairs:
        raise ValueError(f"Empty tree: {tree!r} holds no class. Give at least one class.")
    return from_parents(cls, pairs, level_names)


def _clean_path(path):
    """Names of one path; trailing empties end it, an empty before a name is an error."""
    if isinstance(path, (str, bytes)) or not isinstance(path, Iterable):
        raise ValueError(
            f"Path {path!r} is not a sequence of names (coarsest first); e.g. "
            "['Animal', 'cat'], or ['cat'] for a one-level path."
        )
    path = list(path)
    filled = [k for k, v in enumerate(path) if not _is_empty(v)]
    end = filled[-1] + 1 if filled else 0
    gaps = [k for k in range(end) if _is_empty(path[k])]
    if gaps:
        raise ValueError(
            f"Path {path!r} has an empty name ({path[gaps[0]]!r}) at level {gaps[0]} above "
            f"the name {path[end - 1]!r}; a path may only end with empty entries. Fill in "
            "the missing class (or drop the finer names)."
        )
    return [_name(v, f"path {path!r}") for v in path[:end]]


def from_paths(cls, paths: Iterable[Sequence[str]], level_names=None):
    """`Hierarchy.from_paths` (see its docstring)."""
    if isinstance(paths, (str, bytes, Mapping)) or not isinstance(paths, Iterable):
        raise ValueError(
            f"`paths` must be a list of paths (sequences of names); received "
            f"{type(paths).__name__}."
        )
    names, parents, index = [], [], []
    for path in paths:
        parent = -1
        for level, name in enumerate(_clean_path(path)):
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
        raise ValueError("Empty tree: no paths given (or only empty ones). Give at least one.")
    return cls(names, [None] + parents[1:], level_names)


def from_dataframe(cls, df, columns=None, level_names=None):
    """`Hierarchy.from_dataframe` (see its docstring)."""
    columns = list(columns) if columns is not None else list(df.columns)
    if not columns:
        raise ValueError("The table has no columns; give one column per level.")
    if level_names is None:
        level_names = [str(c) for c in columns]
    rows = df[columns].astype(object).where(df[columns].notna(), None).values.tolist()
    for row in rows:
        filled = [k for k, v in enumerate(row) if not _is_empty(v)]
        if filled and any(_is_empty(v) for v in row[: filled[-1]]):
            raise ValueError(f"Row {row} has an empty cell above a filled one.")
    return from_paths(cls, rows, level_names)


def _unreadable(kind, path, err):
    return ValueError(f"Cannot read the hierarchy {kind} {str(path)!r}: {err}")


def from_csv(cls, path, columns=None, level_names=None, **read_csv_kwargs):
    """`Hierarchy.from_csv` (see its docstring)."""
    import pandas as pd

    if isinstance(path, (str, os.PathLike)):
        if not os.path.isfile(path):
            raise ValueError(f"Hierarchy CSV file {str(path)!r} does not exist (or is not a "
                             "file); check the path.")
        try:
            df = pd.read_csv(path, **read_csv_kwargs)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError,
                pd.errors.EmptyDataError) as err:
            raise _unreadable("CSV file", path, err) from err
    else:
        df = pd.read_csv(path, **read_csv_kwargs)
    return from_dataframe(cls, df, columns, level_names)


def from_folder(cls, root, level_names=None):
    """`Hierarchy.from_folder` (see its docstring)."""
    if not os.path.isdir(root):
        raise ValueError(f"Folder {str(root)!r} does not exist (or is not a folder).")
    paths = []

    def walk(folder, trail):
        try:
            entries = os.listdir(folder)
        except OSError as err:
            raise _unreadable("folder", folder, err) from err
        subs = sorted(
            d for d in entries
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
        raise ValueError(f"Folder {str(root)!r} has no class subfolders.")
    return from_paths(cls, paths, level_names)


def from_json(cls, text_or_path):
    """`Hierarchy.from_json` (see its docstring)."""
    text, source = text_or_path, "JSON text"
    is_text = isinstance(text_or_path, str) and text_or_path.lstrip().startswith(("{", "["))
    if not is_text:
        if not isinstance(text_or_path, (str, os.PathLike)):
            raise ValueError(f"`from_json` takes JSON text or a file path; received "
                             f"{type(text_or_path).__name__}.")
        path, source = text_or_path, f"file {str(text_or_path)!r}"
        if not os.path.isfile(path):
            raise ValueError(f"Hierarchy JSON file {str(path)!r} does not exist (or is not a "
                             "file); pass an existing path or the JSON text itself.")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as err:
            raise _unreadable("JSON file", path, err) from err
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"The hierarchy {source} is not valid JSON ({err}).") from err
    if not isinstance(config, Mapping):
        raise ValueError(f"The hierarchy {source} holds a {type(config).__name__}, not the "
                         "dict written by `Hierarchy.to_json`.")
    return cls.coerce(config)
