"""Label paths from per-level probabilities (NumPy): the one place paths are decoded.

A path is an int row `(depth,)`, coarsest first, `-1` after its end. The base
model, the metrics and the families all decode through these functions:

- `argmax_paths`: each level's argmax, taken independently (may break the
  tree; `consistency` measures how often), ended after a predicted leaf;
- `constrained_argmax`: each level's most probable *child* of the level above
  (consistent by construction), known labels kept: what pseudo-labelling and
  CNN-RNN* need;
- `cut_after_leaves`: end paths after a leaf (variable-depth trees) or after
  an unknown entry.

The Keras-ops decoders of the RNN families (greedy, tree-constrained, beam) are
in `hier_keras/layers/tree_decoding.py`.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.from_paths([["A", "a1"], ["B"]])
>>> argmax_paths([np.array([[0.2, 0.8]]), np.array([[1.0]])], tree).tolist()
[[1, -1]]
"""

from __future__ import annotations

import numpy as np

from hier_keras.outputs import level_list


def cut_after_leaves(paths, hierarchy) -> np.ndarray:
    """Set entries after a leaf (or after an unknown entry) to -1."""
    paths = np.array(paths, np.int32, copy=True)
    alive = np.ones(len(paths), bool)
    for level in range(hierarchy.depth):
        paths[~alive, level] = -1
        cur = paths[:, level]
        valid = alive & (cur >= 0)
        leaf = np.zeros(len(paths), bool)
        leaf[valid] = hierarchy.is_leaf(level)[cur[valid]]
        alive = valid & ~leaf
    return paths


def argmax_paths(probs, hierarchy, cut=True) -> np.ndarray:
    """Int32 `(N, depth)` paths: the argmax of each level, taken independently.

    Args:
        probs: dict `{level_name: (N, n_level)}` (other keys ignored) or a
            list of per-level arrays, coarsest first. Missing levels give `-1`.
        hierarchy: the `Hierarchy`.
        cut: end a path after a predicted leaf and after a missing level
            (`cut_after_leaves`). Fixed-depth trees with every level predicted
            are unaffected. Defaults to `True`.
    """
    per_level = level_list(probs, hierarchy.level_names)
    if not per_level:
        raise ValueError(
            f"`probs` holds none of the levels {hierarchy.level_names}; received "
            f"{sorted(probs) if isinstance(probs, dict) else probs}."
        )
    n = len(next(iter(per_level.values())))
    paths = np.full((n, hierarchy.depth), -1, np.int32)
    for level, scores in per_level.items():
        paths[:, level] = np.argmax(np.asarray(scores), axis=-1)
    return cut_after_leaves(paths, hierarchy) if cut else paths


def constrained_argmax(probs, hierarchy, given) -> np.ndarray:
    """Per level, the most probable child of the level above; known `given` labels kept.

    Args:
        probs: `{level_name: (N, n_level)}` probabilities.
        hierarchy: the `Hierarchy`.
        given: int `(N, depth)` labels, `-1` where unknown (all `-1` for a
            plain tree-consistent decoding).
    """
    paths = np.array(given, np.int32, copy=True)
    for level, name in enumerate(hierarchy.level_names):
        if name not in probs:
            break
        p = np.asarray(probs[name], np.float64)
        if level > 0:
            parent = paths[:, level - 1]
            allowed = hierarchy.parents[level][None, :] == parent[:, None]
            p = np.where(allowed, p + 1e-12, -1.0)
        choice = np.argmax(p, axis=-1)
        todo = paths[:, level] < 0
        if level > 0:
            todo &= paths[:, level - 1] >= 0
            has_children = (p.max(axis=-1) >= 0)
            choice = np.where(has_children, choice, -1)
        paths[todo, level] = choice[todo]
    return cut_after_leaves(paths, hierarchy)
