"""`ChildMinPooling` and `ClassWiseGlobalAveragePooling`: MinPoolNet's parameter-free top.

Weak supervision with min-pooling (the paper survives only in part: Sec. IV-B
to VI; here Sec. IV-B to IV-C, eq. 2-3):

- the base net ends in one feature map `M_f^j` per fine class;
- a coarse class's map is the element-wise minimum of its children's maps,
  `M_c^k = min_{j in children(k)} M_f^j` (a coarse class scores high at a
  position only where *every* one of its fine classes does, so the coarse loss
  pushes up all of its fine maps together and the fine maps share what the
  coarse class has in common);
- each map becomes one score by global average pooling (eq. 2-3), with no
  parameters.

For trees deeper than two levels the min-pooling runs level by level towards
the root: level `l` maps are the minimum over their children's level `l + 1`
maps (min is associative, so a node's map is the minimum over the leaf maps
below it). In variable-depth trees a leaf above the finest level has no
children; it gets its own base map. The base maps are therefore one per
*leaf*, in node-vocabulary order (`hierarchy.node_is_leaf()`), which for a
fixed-depth tree is simply one per fine class in fine-id order.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from hier_keras.hierarchy import Hierarchy


def min_pool_tables(hierarchy: Hierarchy):
    """Gather tables that build every level's maps from the leaf maps.

    Returns a list over levels, finest first, of `(leaf_ids, table)`:
    `leaf_ids` are the base-map channels of this level's leaves, and
    `table[k]` lists, for class `k` of the level, indices into
    `concat([finer level maps, this level's leaf maps], axis=-1)`; rows are
    padded by repeating an index (min is idempotent, so padding changes
    nothing).
    """
    leaf_offsets = np.cumsum([0] + [int(hierarchy.is_leaf(l).sum()) for l in range(hierarchy.depth)])
    out = []
    for level in range(hierarchy.depth - 1, -1, -1):
        is_leaf = hierarchy.is_leaf(level)
        leaf_ids = leaf_offsets[level] + np.arange(int(is_leaf.sum()))
        n_finer = hierarchy.level_sizes[level + 1] if level + 1 < hierarchy.depth else 0
        leaf_pos = np.cumsum(is_leaf) - 1
        rows = []
        for k in range(hierarchy.level_sizes[level]):
            if is_leaf[k]:
                rows.append([n_finer + int(leaf_pos[k])])
            else:
                rows.append(hierarchy.children(level, k))
        width = max(len(r) for r in rows)
        table = np.array([r + [r[0]] * (width - len(r)) for r in rows], np.int32)
        out.append((leaf_ids.astype(np.int32), table))
    return out


@keras.saving.register_keras_serializable(package="hier_keras")
class ChildMinPooling(layers.Layer):
    """Per-level class maps from leaf maps by element-wise min over children.

    Paper: weak supervision with min-pooling (Sec. IV-C, eq. 2),
    `M_c^k = min_{j in children(k)} M_f^j`, applied level by level for deeper
    trees.

    Args:
        hierarchy: `Hierarchy` (or its dict).

    Call arguments:
        maps: `(batch, *positions, n_leaves)` float tensor, channels last: one
            map per leaf in node-vocabulary order (for a fixed-depth tree, one
            per fine class in fine-id order). `positions` may be any number of
            axes (`(H, W)` conv maps, or `(d,)` for FC maps).

    Returns:
        A list of `depth` tensors, coarsest first; entry `l` is
        `(batch, *positions, level_sizes[l])`.

    Example:

    >>> import numpy as np
    >>> import hier_keras as hk
    >>> tree = hk.Hierarchy.from_nested({"A": ["a", "b"], "B": ["c"]})
    >>> maps = np.array([[[1.0, 3.0, 2.0]]])        # (batch=1, d=1, fine=3)
    >>> coarse, fine = ChildMinPooling(tree)(maps)
    >>> np.asarray(coarse).tolist()
    [[[1.0, 2.0]]]
    """

    def __init__(self, hierarchy, **kwargs):
        super().__init__(**kwargs)
        self.hierarchy = Hierarchy.coerce(hierarchy)
        self._tables = min_pool_tables(self.hierarchy)
        self.num_leaves = int(self.hierarchy.node_is_leaf().sum())

    def call(self, maps):
        if maps.shape[-1] is not None and maps.shape[-1] != self.num_leaves:
            raise ValueError(
                f"ChildMinPooling expects {self.num_leaves} leaf maps (last axis, one per "
                f"leaf of the tree); received {maps.shape[-1]} channels. Give the base net "
                "one output channel per leaf class."
            )
        per_level = []
        finer = None
        for leaf_ids, table in self._tables:
            own = ops.take(maps, ops.convert_to_tensor(leaf_ids), axis=-1)
            source = own if finer is None else ops.concatenate([finer, own], axis=-1)
            n, width = table.shape
            if width == 1:
                level_maps = ops.take(source, ops.convert_to_tensor(table[:, 0]), axis=-1)
            else:
                gathered = ops.take(source, ops.convert_to_tensor(table.reshape(-1)), axis=-1)
                shape = ops.shape(gathered)
                gathered = ops.reshape(gathered, tuple(shape[:-1]) + (n, width))
                level_maps = ops.min(gathered, axis=-1)
            per_level.append(level_maps)
            finer = level_maps
        return per_level[::-1]

    def compute_output_shape(self, input_shape):
        prefix = tuple(input_shape[:-1])
        return [prefix + (n,) for n in self.hierarchy.level_sizes]

    def get_config(self):
        config = super().get_config()
        config["hierarchy"] = self.hierarchy.to_dict()
        return config


@keras.saving.register_keras_serializable(package="hier_keras")
class ClassWiseGlobalAveragePooling(layers.Layer):
    """One score per class map: the mean over all its positions (eq. 2-3). No parameters.

    `s^j = (1/d) sum_i M^j(i)`. Works for any number of position axes:
    `(batch, H, W, classes)` or `(batch, d, classes)` -> `(batch, classes)`.

    Example:

    >>> import numpy as np
    >>> maps = np.arange(8, dtype="float32").reshape(1, 2, 2, 2)
    >>> np.asarray(ClassWiseGlobalAveragePooling()(maps)).tolist()
    [[3.0, 4.0]]
    """

    def call(self, maps):
        rank = len(maps.shape)
        if rank < 3:
            raise ValueError(
                "ClassWiseGlobalAveragePooling needs (batch, *positions, classes) maps with "
                f"at least one position axis; received rank {rank}."
            )
        return ops.mean(maps, axis=tuple(range(1, rank - 1)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
