"""The label tree: levels, names, parents, paths and label validation.

A :class:`Hierarchy` stores a rooted tree level by level. Level 0 holds the
coarsest classes (the children of an implicit root), level ``depth - 1`` the
finest. Class ids are per level: ``parents[l][j]`` is the id, at level
``l - 1``, of the parent of class ``j`` at level ``l``. A class with no
children is a leaf; leaves may sit at any level (variable-depth trees).

Labels follow the package contract (see DESIGN.md): an int array
``(batch, depth)`` of per-level ids, coarsest first, ``-1`` where the
annotation stops and ``-2`` right after the last node of a path that ends at an
internal node on purpose.

Example:

>>> tree = Hierarchy.from_nested({"Animal": ["cat", "dog"], "Vehicle": ["car"]})
>>> tree.depth, tree.level_sizes
(2, [2, 3])
>>> tree.complete([2, 0]).tolist()
[[1, 2], [0, 0]]
>>> tree.path_names([0, 1])
['Animal', 'dog']
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Iterable, Mapping, Sequence

import numpy as np

UNKNOWN = -1
"""Label value: finer labels unknown (or, after a leaf, the path has ended)."""
END = -2
"""Label value: the path ends here, at an internal node (general trees)."""

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def default_level_names(depth: int) -> list[str]:
    """`["coarse", "fine"]`, `["coarse", "medium", "fine"]`, else `level_0...`."""
    if depth == 2:
        return ["coarse", "fine"]
    if depth == 3:
        return ["coarse", "medium", "fine"]
    return [f"level_{i}" for i in range(depth)]


class Hierarchy:
    """A rooted label tree stored level by level.

    Args:
        class_names: list of lists. `class_names[l]` names the classes of
            level `l` in id order. Names must be unique within a level.
        parents: list of int sequences. `parents[l][j]` is the parent id
            (at level `l - 1`) of class `j` of level `l`; `parents[0]` is all
            `-1` and may be omitted by passing `None`.
        level_names: optional list of str. Defaults to
            `default_level_names(depth)`.

    Most users build one with a constructor: `from_parents`, `from_nested`,
    `from_paths`, `from_dataframe`, `from_csv`, `from_folder`, or the
    built-ins `cifar100()` and `fashion_mnist()`.

    Example:

    >>> tree = Hierarchy.fashion_mnist()
    >>> tree.level_names, tree.level_sizes
    (['coarse', 'medium', 'fine'], [2, 6, 10])
    >>> tree.path_names(tree.complete([9])[0])
    ['Goods', 'Shoes', 'Ankle boot']
    """

    def __init__(self, class_names, parents, level_names=None):
        class_names = [list(map(str, names)) for names in class_names]
        if not class_names or not class_names[0]:
            raise ValueError("A hierarchy needs at least one level with one class.")
        depth = len(class_names)
        if parents is None or parents[0] is None:
            parents = [None] + list(parents[1:] if parents is not None else [])
        if len(parents) != depth:
            raise ValueError(
                f"`parents` has {len(parents)} levels but `class_names` has {depth}; "
                "give one parent array per level (level 0 may be None)."
            )
        self.class_names = class_names
        self.parents = [np.full(len(class_names[0]), -1, dtype=np.int32)]
        for level in range(1, depth):
            arr = np.asarray(parents[level], dtype=np.int64).reshape(-1)
            if arr.shape[0] != len(class_names[level]):
                raise ValueError(
                    f"Level {level} has {len(class_names[level])} classes but "
                    f"{arr.shape[0]} parent ids."
                )
            bad = np.flatnonzero((arr < 0) | (arr >= len(class_names[level - 1])))
            if bad.size:
                j = int(bad[0])
                raise ValueError(
                    f"Orphan class {class_names[level][j]!r} at level {level}: its parent "
                    f"id {int(arr[j])} is not a class of level {level - 1} "
                    f"(0..{len(class_names[level - 1]) - 1}). Every class below level 0 "
                    "needs a parent one level up."
                )
            self.parents.append(arr.astype(np.int32))
        for level, names in enumerate(class_names):
            seen = {}
            for j, name in enumerate(names):
                if name in seen:
                    k = seen[name]
                    if level and self.parents[level][k] == self.parents[level][j]:
                        parent = class_names[level - 1][self.parents[level][j]]
                        raise ValueError(
                            f"Duplicate name {name!r} under parent {parent!r} at level "
                            f"{level}; names under one parent must differ."
                        )
                    raise ValueError(
                        f"Duplicate name {name!r} at level {level}; class names must be "
                        "unique within a level (rename one, e.g. 'Parent/Name')."
                    )
                seen[name] = j
        self._index = [{n: j for j, n in enumerate(names)} for names in class_names]
        if level_names is None:
            level_names = default_level_names(depth)
        level_names = [str(n) for n in level_names]
        if len(level_names) != depth or len(set(level_names)) != depth:
            raise ValueError(
                f"`level_names` must be {depth} distinct names; received {level_names}."
            )
        self.level_names = level_names
        self._children = []
        for level in range(depth):
            kids = [[] for _ in class_names[level]]
            if level + 1 < depth:
                for j, p in enumerate(self.parents[level + 1]):
                    kids[p].append(j)
            self._children.append(kids)

    # ------------------------------------------------------------------ basics
    @property
    def depth(self) -> int:
        """Number of levels."""
        return len(self.class_names)

    @property
    def level_sizes(self) -> list[int]:
        """Number of classes per level, coarsest first."""
        return [len(n) for n in self.class_names]

    def level_index(self, level) -> int:
        """Level id from an int or a level name."""
        if isinstance(level, str):
            if level not in self.level_names:
                raise ValueError(
                    f"Unknown level {level!r}; the levels are {self.level_names}."
                )
            return self.level_names.index(level)
        level = int(level)
        if level < 0:
            level += self.depth
        if not 0 <= level < self.depth:
            raise ValueError(f"Level {level} out of range 0..{self.depth - 1}.")
        return level

    def children(self, level, idx: int) -> list[int]:
        """Ids (at `level + 1`) of the children of class `idx` of `level`."""
        return list(self._children[self.level_index(level)][int(idx)])

    def is_leaf(self, level) -> np.ndarray:
        """Boolean array: which classes of `level` have no children."""
        level = self.level_index(level)
        return np.array([not k for k in self._children[level]], dtype=bool)

    @property
    def is_fixed_depth(self) -> bool:
        """True when every leaf sits at the last level."""
        return all(not self.is_leaf(l).any() for l in range(self.depth - 1))

    def membership(self, level=0) -> np.ndarray:
        """Float32 matrix `(size[level + 1], size[level])`: M[j, i] = 1 iff i is j's parent."""
        level = self.level_index(level)
        if level + 1 >= self.depth:
            raise ValueError(f"Level {level} is the finest level; it has no child level.")
        m = np.zeros((self.level_sizes[level + 1], self.level_sizes[level]), np.float32)
        m[np.arange(self.level_sizes[level + 1]), self.parents[level + 1]] = 1.0
        return m

    def ancestor(self, level, idx, to_level) -> np.ndarray:
        """Ancestor ids at `to_level` of classes `idx` of `level` (vectorised)."""
        level, to_level = self.level_index(level), self.level_index(to_level)
        if to_level > level:
            raise ValueError("`to_level` must be coarser than (or equal to) `level`.")
        out = np.asarray(idx)
        for l in range(level, to_level, -1):
            out = self.parents[l][out]
        return out

    # ------------------------------------------------------------ node vocab
    @property
    def node_offsets(self) -> np.ndarray:
        """Global id of the first class of each level in the node vocabulary."""
        return np.concatenate([[0], np.cumsum(self.level_sizes)[:-1]]).astype(np.int32)

    @property
    def num_nodes(self) -> int:
        """Number of non-root nodes (the node vocabulary size)."""
        return int(sum(self.level_sizes))

    @property
    def node_names(self) -> list[str]:
        """Names of all non-root nodes in global-id order (level by level)."""
        return [n for names in self.class_names for n in names]

    def node_id(self, level, idx):
        """Global node id of class `idx` of `level` (vectorised)."""
        return self.node_offsets[self.level_index(level)] + np.asarray(idx)

    def node_level(self, node):
        """`(level, idx)` arrays for global node ids."""
        node = np.asarray(node)
        level = np.searchsorted(self.node_offsets, node, side="right") - 1
        return level, node - self.node_offsets[level]

    def node_parents(self) -> np.ndarray:
        """Global id of each node's parent, `-1` for level-0 nodes."""
        out = np.full(self.num_nodes, -1, np.int32)
        offs = self.node_offsets
        for level in range(1, self.depth):
            out[offs[level] : offs[level] + self.level_sizes[level]] = (
                self.parents[level] + offs[level - 1]
            )
        return out

    def node_is_leaf(self) -> np.ndarray:
        """Boolean array over the node vocabulary."""
        return np.concatenate([self.is_leaf(l) for l in range(self.depth)])

    def child_mask(self) -> np.ndarray:
        """Bool `(num_nodes + 1, num_nodes)`: row `n` allows the children of node `n`.

        The last row is the root: it allows the level-0 classes. Used by
        tree-constrained decoders.
        """
        n = self.num_nodes
        mask = np.zeros((n + 1, n), dtype=bool)
        par = self.node_parents()
        for node in range(n):
            mask[n if par[node] < 0 else par[node], node] = True
        return mask

    # ------------------------------------------------------------ paths
    def leaf_paths(self) -> np.ndarray:
        """Int32 `(n_leaves, depth)`: every root-to-leaf path, `-1` padded.

        Ordered by leaf level, then id.
        """
        rows = []
        for level in range(self.depth):
            for j in np.flatnonzero(self.is_leaf(level)):
                rows.append(self._path_of(level, int(j)))
        return np.array(rows, dtype=np.int32).reshape(-1, self.depth)

    def node_paths(self) -> np.ndarray:
        """Int32 `(num_nodes, depth)`: the path from the root to every node."""
        rows = [
            self._path_of(level, j)
            for level in range(self.depth)
            for j in range(self.level_sizes[level])
        ]
        return np.array(rows, dtype=np.int32)

    def _path_of(self, level, idx):
        path = [UNKNOWN] * self.depth
        for l in range(level, -1, -1):
            path[l] = idx
            idx = int(self.parents[l][idx])
        return path

    def path_names(self, path) -> list[str]:
        """Names along one path of ids (stops at the first negative entry)."""
        names = []
        for level, idx in enumerate(np.asarray(path).reshape(-1)):
            if idx < 0:
                break
            names.append(self.class_names[level][int(idx)])
        return names

    def name_to_id(self, level, name: str) -> int:
        """Id of class `name` at `level`."""
        level = self.level_index(level)
        try:
            return self._index[level][name]
        except KeyError:
            raise ValueError(
                f"No class named {name!r} at level {level} ({self.level_names[level]})."
            ) from None

    def path_from_names(self, names: Sequence[str]) -> np.ndarray:
        """A label row from a sequence of names, coarsest first."""
        path = np.full(self.depth, UNKNOWN, np.int32)
        for level, name in enumerate(names):
            path[level] = self.name_to_id(level, name)
        self.validate_labels(path[None])
        return path

    # ----------------------------------------------------- label handling
    def complete(self, labels, level=None) -> np.ndarray:
        """Fill the coarser levels of label rows from their deepest known label.

        Args:
            labels: int array `(N, depth)` (unknown coarser entries may be
                `-1`), or a 1-D array of ids at `level`.
            level: the level of a 1-D input. Defaults to the finest level.

        Returns:
            Int32 `(N, depth)`. Raises `ValueError` when a given coarser label
            disagrees with the one implied by a finer label.
        """
        labels = np.asarray(labels)
        if labels.ndim == 1:
            level = self.depth - 1 if level is None else self.level_index(level)
            ids = labels.astype(np.int64)
            self._check_range(ids, level)
            out = np.full((ids.shape[0], self.depth), UNKNOWN, np.int32)
            out[:, level] = ids
            for l in range(level, 0, -1):
                out[:, l - 1] = self.parents[l][out[:, l]]
            return out
        self._check_shape(labels)
        out = labels.astype(np.int32).copy()
        for l in range(self.depth - 1, 0, -1):
            known = out[:, l] >= 0
            self._check_range(out[known, l], l)
            implied = self.parents[l][out[known, l]]
            given = out[known, l - 1]
            clash = (given >= 0) & (given != implied)
            if clash.any():
                row = int(np.flatnonzero(known)[np.flatnonzero(clash)[0]])
                self._raise_inconsistent(row, l, out[row])
            out[known, l - 1] = implied
        self.validate_labels(out, allow_end=True)
        return out

    def validate_labels(self, labels, allow_end=None) -> np.ndarray:
        """Check label rows against the tree; return them as int32.

        Raises `ValueError` naming the first offending row for: a wrong shape,
        an id out of range, a finer label whose parent is not the given
        coarser label, a known label below an unknown one, or a misplaced
        `-2` end marker (only allowed right after an internal node when
        `allow_end` is true; by default it is allowed when the tree has
        internal nodes at all).
        """
        labels = np.asarray(labels)
        self._check_shape(labels)
        if not np.issubdtype(labels.dtype, np.integer):
            if not np.all(np.mod(labels, 1) == 0):
                raise ValueError("Labels must be integer class ids; received non-integers.")
        labels = labels.astype(np.int32)
        if labels.size == 0:
            return labels
        if (labels < END).any():
            row = int(np.flatnonzero((labels < END).any(axis=1))[0])
            raise ValueError(
                f"Label row {row} {labels[row].tolist()} has a value below {END}; use ids "
                f">= 0, {UNKNOWN} for unknown and {END} for an explicit end of path."
            )
        for level in range(self.depth):
            col = labels[:, level]
            known = col >= 0
            self._check_range(col[known], level, rows=np.flatnonzero(known))
        for level in range(1, self.depth):
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
            bad[both] = self.parents[level][cur[both]] != prev[both]
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                self._raise_inconsistent(row, level, labels[row])
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
                    and not self.is_leaf(first - 1)[r[first - 1]]
                    and (r[first + 1 :] < 0).all()
                )
                if not ok:
                    raise ValueError(
                        f"Label row {int(row)} {r.tolist()}: the end marker {END} may only "
                        "follow the last node of a path that stops at an internal node."
                    )
        return labels

    def _check_shape(self, labels):
        if labels.ndim != 2 or labels.shape[1] != self.depth:
            raise ValueError(
                f"Labels must have shape (batch, {self.depth}) for this {self.depth}-level "
                f"tree (levels {self.level_names}); received shape {tuple(labels.shape)}. "
                "For single-level ids use `hierarchy.complete(ids, level=...)`."
            )

    def _check_range(self, ids, level, rows=None):
        ids = np.asarray(ids)
        bad = (ids < 0) | (ids >= self.level_sizes[level])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            where = f" (row {int(rows[k])})" if rows is not None else ""
            raise ValueError(
                f"Label {int(ids[k])}{where} is out of range for level {level} "
                f"({self.level_names[level]!r}), which has {self.level_sizes[level]} "
                f"classes (ids 0..{self.level_sizes[level] - 1})."
            )

    def _raise_inconsistent(self, row, level, path):
        fine = int(path[level])
        coarse = int(path[level - 1])
        true_parent = int(self.parents[level][fine])
        raise ValueError(
            f"Inconsistent labels in row {row} {list(map(int, path))}: level-{level} class "
            f"{self.class_names[level][fine]!r} (id {fine}) has parent "
            f"{self.class_names[level - 1][true_parent]!r} (id {true_parent}), not the given "
            f"level-{level - 1} label {coarse}. Fix the coarse label or pass the fine "
            "labels alone to `hierarchy.complete`."
        )

    def path_is_valid(self, paths) -> np.ndarray:
        """Bool `(N,)`: each predicted path follows parent links (consistency).

        Negative entries end a path; entries after them are ignored.
        """
        paths = np.asarray(paths)
        self._check_shape(paths)
        ok = np.ones(paths.shape[0], dtype=bool)
        alive = paths[:, 0] >= 0
        for level in range(1, self.depth):
            cur = paths[:, level]
            step = alive & (cur >= 0)
            good = np.ones_like(ok)
            in_range = cur < self.level_sizes[level]
            good[step] = in_range[step]
            idx = step & in_range
            good[idx] = self.parents[level][cur[idx]] == paths[idx, level - 1]
            ok &= good
            alive &= cur >= 0
        return ok

    def lca_height(self, paths_a, paths_b) -> np.ndarray:
        """Levels from the deeper of two nodes up to their lowest common ancestor.

        0 when the paths are equal; the full depth of the deeper path when
        they already differ at level 0 (the LCA is the root).
        """
        a, b = np.asarray(paths_a), np.asarray(paths_b)
        self._check_shape(a)
        self._check_shape(b)
        len_a = (a >= 0).cumprod(axis=1).sum(axis=1)
        len_b = (b >= 0).cumprod(axis=1).sum(axis=1)
        same = ((a == b) & (a >= 0)).cumprod(axis=1).sum(axis=1)
        return np.maximum(len_a, len_b) - same

    # ------------------------------------------------------------ builders
    @classmethod
    def from_parents(cls, parent_of, level_names=None) -> "Hierarchy":
        """Build from child -> parent names.

        Args:
            parent_of: a mapping `{child: parent}` or a sequence of
                `(child, parent)` pairs. Level-0 classes have parent `None`
                (or a name that appears only as a parent and never as a child:
                the root).

        Example:

        >>> Hierarchy.from_parents({"cat": "Animal", "dog": "Animal",
        ...                         "Animal": None}).level_sizes
        [1, 2]
        """
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

    @classmethod
    def from_nested(cls, tree, level_names=None) -> "Hierarchy":
        """Build from nested dicts; leaves may be lists of names or `None`/`{}`.

        Example:

        >>> Hierarchy.from_nested({"A": {"a1": None, "a2": ["x"]}, "B": []}).level_sizes
        [2, 2, 1]
        """
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
        return cls.from_parents(pairs, level_names)

    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[str]], level_names=None) -> "Hierarchy":
        """Build from label paths (sequences of names, coarsest first, any depth).

        Example:

        >>> Hierarchy.from_paths([["A", "a1"], ["A", "a2"], ["B"]]).leaf_paths().tolist()
        [[1, -1], [0, 0], [0, 1]]
        """
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

    @classmethod
    def from_dataframe(cls, df, columns=None, level_names=None) -> "Hierarchy":
        """Build from a pandas DataFrame with one column per level (coarsest first).

        Empty cells (NaN/None/"") end a path. `columns` picks and orders the
        level columns; level names default to the column names.
        """
        columns = list(columns) if columns is not None else list(df.columns)
        if level_names is None:
            level_names = [str(c) for c in columns]
        rows = df[columns].astype(object).where(df[columns].notna(), None).values.tolist()
        paths = [[v for v in row if v is not None and str(v) != ""] for row in rows]
        for row, path in zip(rows, paths):
            if any(v is None or str(v) == "" for v in row[: len(path)]):
                raise ValueError(f"Row {row} has an empty cell above a filled one.")
        return cls.from_paths(paths, level_names)

    @classmethod
    def from_csv(cls, path, columns=None, level_names=None, **read_csv_kwargs) -> "Hierarchy":
        """Build from a CSV file with one column per level (see `from_dataframe`)."""
        import pandas as pd

        return cls.from_dataframe(pd.read_csv(path, **read_csv_kwargs), columns, level_names)

    @classmethod
    def from_folder(cls, root, level_names=None) -> "Hierarchy":
        """Build from a folder tree `root/<level0>/<level1>/.../image`.

        A folder that holds subfolders is an internal node; one that holds
        only files is a leaf. Hidden folders are skipped.
        """
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
        return cls.from_paths(paths, level_names)

    # ------------------------------------------------------- serialization
    def to_dict(self) -> dict:
        """JSON-ready dict (`from_dict` inverts it)."""
        return {
            "level_names": list(self.level_names),
            "class_names": [list(n) for n in self.class_names],
            "parents": [None] + [p.tolist() for p in self.parents[1:]],
        }

    @classmethod
    def from_dict(cls, config) -> "Hierarchy":
        if isinstance(config, Hierarchy):
            return config
        try:
            return cls(config["class_names"], config["parents"], config.get("level_names"))
        except (KeyError, TypeError) as err:
            raise ValueError(
                "A hierarchy dict needs 'class_names', 'parents' and 'level_names' keys "
                f"(as written by `Hierarchy.to_dict`); received {type(config).__name__} "
                f"with keys {sorted(config) if isinstance(config, Mapping) else '-'}."
            ) from err

    @classmethod
    def get(cls, name: str) -> "Hierarchy":
        """A built-in hierarchy by name: `"fashion_mnist"` or `"cifar100"`.

        Example:

        >>> Hierarchy.get("fashion_mnist").level_sizes
        [2, 6, 10]
        """
        if name not in BUILTIN_HIERARCHIES:
            raise ValueError(
                f"Unknown built-in hierarchy {name!r}; use one of {sorted(BUILTIN_HIERARCHIES)}, "
                "or build one with `Hierarchy.from_parents` / `from_paths` / `from_folder`."
            )
        return getattr(cls, BUILTIN_HIERARCHIES[name])()

    @classmethod
    def coerce(cls, value) -> "Hierarchy":
        """A `Hierarchy` from a `Hierarchy`, a built-in name or a `to_dict()` dict.

        Every public entry point that takes a hierarchy calls this once; the
        objects behind it (models, layers, metrics) then hold a `Hierarchy`.

        Example:

        >>> tree = Hierarchy.coerce("fashion_mnist")
        >>> Hierarchy.coerce(tree.to_dict()) == tree, Hierarchy.coerce(tree) is tree
        (True, True)
        """
        if isinstance(value, Hierarchy):
            return value
        if isinstance(value, str):
            return cls.get(value)
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise TypeError(
            "A hierarchy is a `hk.Hierarchy`, a built-in name "
            f"({sorted(BUILTIN_HIERARCHIES)}) or a dict from `Hierarchy.to_dict()`; "
            f"received {type(value).__name__}."
        )

    def to_json(self, path=None):
        """JSON text; also written to `path` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    @classmethod
    def from_json(cls, text_or_path) -> "Hierarchy":
        """Inverse of `to_json`: JSON text or a path to a JSON file."""
        if os.path.exists(str(text_or_path)):
            with open(text_or_path) as f:
                text_or_path = f.read()
        return cls.from_dict(json.loads(text_or_path))

    def __eq__(self, other):
        return isinstance(other, Hierarchy) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(self.to_json())

    def __repr__(self):
        sizes = ", ".join(f"{n}={s}" for n, s in zip(self.level_names, self.level_sizes))
        return f"Hierarchy({sizes})"

    # ------------------------------------------------------------ built-ins
    @classmethod
    def fashion_mnist(cls) -> "Hierarchy":
        """The 3-level Fashion-MNIST tree of Seo & Shin (2019).

        Fine ids equal the dataset's label ids (0 T-shirt/top ... 9 Ankle
        boot). Level 1 ids: Tops, Bottoms, Dresses, Outers, Accessories, Shoes.
        Level 0: Clothes, Goods.
        """
        return cls(
            [
                ["Clothes", "Goods"],
                ["Tops", "Bottoms", "Dresses", "Outers", "Accessories", "Shoes"],
                FASHION_MNIST_CLASSES,
            ],
            [None, [0, 0, 0, 0, 1, 1], [0, 1, 0, 2, 3, 5, 0, 5, 4, 5]],
        )

    @classmethod
    def cifar100(cls) -> "Hierarchy":
        """CIFAR-100: 20 superclasses over 100 classes, ids as tfds and Keras number them."""
        fine_parent = [0] * 100
        for c, members in enumerate(_CIFAR100_MEMBERS):
            for name in members:
                fine_parent[CIFAR100_FINE.index(name)] = c
        return cls([CIFAR100_COARSE, CIFAR100_FINE], [None, fine_parent])


#: Built-in hierarchies by name (`Hierarchy.get`), each the name of its classmethod.
BUILTIN_HIERARCHIES = {"fashion_mnist": "fashion_mnist", "cifar100": "cifar100"}

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

CIFAR100_FINE = [
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
    "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can",
    "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud",
    "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant",
    "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree",
    "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea",
    "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe",
    "whale", "willow_tree", "wolf", "woman", "worm",
]

CIFAR100_COARSE = [
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates",
    "people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
]

_CIFAR100_MEMBERS = [
    ["beaver", "dolphin", "otter", "seal", "whale"],
    ["aquarium_fish", "flatfish", "ray", "shark", "trout"],
    ["orchid", "poppy", "rose", "sunflower", "tulip"],
    ["bottle", "bowl", "can", "cup", "plate"],
    ["apple", "mushroom", "orange", "pear", "sweet_pepper"],
    ["clock", "keyboard", "lamp", "telephone", "television"],
    ["bed", "chair", "couch", "table", "wardrobe"],
    ["bee", "beetle", "butterfly", "caterpillar", "cockroach"],
    ["bear", "leopard", "lion", "tiger", "wolf"],
    ["bridge", "castle", "house", "road", "skyscraper"],
    ["cloud", "forest", "mountain", "plain", "sea"],
    ["camel", "cattle", "chimpanzee", "elephant", "kangaroo"],
    ["fox", "porcupine", "possum", "raccoon", "skunk"],
    ["crab", "lobster", "snail", "spider", "worm"],
    ["baby", "boy", "girl", "man", "woman"],
    ["crocodile", "dinosaur", "lizard", "snake", "turtle"],
    ["hamster", "mouse", "rabbit", "shrew", "squirrel"],
    ["maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"],
    ["bicycle", "bus", "motorcycle", "pickup_truck", "train"],
    ["lawn_mower", "rocket", "streetcar", "tank", "tractor"],
]
