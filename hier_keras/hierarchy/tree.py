"""`Hierarchy`: the label tree, level by level (names, parents, paths, serialization).

A :class:`Hierarchy` stores a rooted tree level by level. Level 0 holds the
coarsest classes (the children of an implicit root), level ``depth - 1`` the
finest. Class ids are per level: ``parents[l][j]`` is the id, at level
``l - 1``, of the parent of class ``j`` at level ``l``. A class with no
children is a leaf; leaves may sit at any level (variable-depth trees).

Labels follow the package contract (docs/ARCHITECTURE.md, "Contracts"): an int array
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
from typing import Iterable, Mapping, Sequence

import numpy as np

from hier_keras.hierarchy import builders, builtin
from hier_keras.hierarchy import labels as label_checks
from hier_keras.hierarchy.builtin import BUILTIN_HIERARCHIES
from hier_keras.hierarchy.labels import END, UNKNOWN  # noqa: F401  (re-exported)


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
        if not class_names or not all(class_names):
            raise ValueError("A hierarchy needs at least one level, and every level at least one "
                             "class; drop empty levels.")
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
        return label_checks.complete(self, labels, level)

    def validate_labels(self, labels, allow_end=None) -> np.ndarray:
        """Check label rows against the tree; return them as int32.

        Raises `ValueError` naming the first offending row for: a wrong shape,
        an id out of range, a finer label whose parent is not the given
        coarser label, a known label below an unknown one, or a misplaced
        `-2` end marker (only allowed right after an internal node when
        `allow_end` is true; by default it is allowed when the tree has
        internal nodes at all).
        """
        return label_checks.validate_labels(self, labels, allow_end)

    def path_is_valid(self, paths) -> np.ndarray:
        """Bool `(N,)`: each predicted path follows parent links (consistency).

        Negative entries end a path; entries after them are ignored.
        """
        return label_checks.path_is_valid(self, paths)

    def lca_height(self, paths_a, paths_b) -> np.ndarray:
        """Levels from the deeper of two nodes up to their lowest common ancestor.

        0 when the paths are equal; the full depth of the deeper path when
        they already differ at level 0 (the LCA is the root).
        """
        return label_checks.lca_height(self, paths_a, paths_b)

    # ------------------------------------------------------------ builders
    @classmethod
    def from_parents(cls, parent_of, level_names=None) -> "Hierarchy":
        """Build from child -> parent names.

        Args:
            parent_of: a mapping `{child: parent}` or a sequence of
                `(child, parent)` pairs. Level-0 classes have parent `None`
                (or a name that appears only as a parent and never as a child:
                the root, when it is the parent of every level-0 class). Names
                are str (numbers go through `str()`); an empty tree or an
                undefined parent next to `None` parents is a `ValueError`.

        Example:

        >>> Hierarchy.from_parents({"cat": "Animal", "dog": "Animal",
        ...                         "Animal": None}).level_sizes
        [1, 2]
        """
        return builders.from_parents(cls, parent_of, level_names)

    @classmethod
    def from_nested(cls, tree, level_names=None) -> "Hierarchy":
        """Build from nested dicts; leaves may be lists of names or `None`/`{}`.

        Example:

        >>> Hierarchy.from_nested({"A": {"a1": None, "a2": ["x"]}, "B": []}).level_sizes
        [2, 2, 1]
        """
        return builders.from_nested(cls, tree, level_names)

    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[str]], level_names=None) -> "Hierarchy":
        """Build from label paths (sequences of names, coarsest first, any depth).

        Trailing `None`/NaN/`""` entries end a path; one before a later name
        (a gap) is a `ValueError`, as is an empty list of paths.

        Example:

        >>> Hierarchy.from_paths([["A", "a1"], ["A", "a2"], ["B"]]).leaf_paths().tolist()
        [[1, -1], [0, 0], [0, 1]]
        """
        return builders.from_paths(cls, paths, level_names)

    @classmethod
    def from_dataframe(cls, df, columns=None, level_names=None) -> "Hierarchy":
        """Build from a pandas DataFrame with one column per level (coarsest first).

        Empty cells (NaN/None/"") end a path. `columns` picks and orders the
        level columns; level names default to the column names.
        """
        return builders.from_dataframe(cls, df, columns, level_names)

    @classmethod
    def from_csv(cls, path, columns=None, level_names=None, **read_csv_kwargs) -> "Hierarchy":
        """Build from a CSV file with one column per level (see `from_dataframe`)."""
        return builders.from_csv(cls, path, columns, level_names, **read_csv_kwargs)

    @classmethod
    def from_folder(cls, root, level_names=None) -> "Hierarchy":
        """Build from a folder tree `root/<level0>/<level1>/.../image`.

        A folder that holds subfolders is an internal node; one that holds
        only files is a leaf. Hidden folders are skipped.
        """
        return builders.from_folder(cls, root, level_names)

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
        """Inverse of `to_json`: JSON text or a path to a JSON file.

        A missing, unreadable or malformed file is a `ValueError` naming it.
        """
        return builders.from_json(cls, text_or_path)

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
        return builtin.fashion_mnist(cls)

    @classmethod
    def cifar100(cls) -> "Hierarchy":
        """CIFAR-100: 20 superclasses over 100 classes, ids as tfds and Keras number them."""
        return builtin.cifar100(cls)
