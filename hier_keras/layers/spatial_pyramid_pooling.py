"""`SpatialPyramidPooling`: pool a feature map into fixed grids (He et al. 2014, SPP-net).

He, Zhang, Ren, Sun (2014), "Spatial pyramid pooling in deep convolutional
networks for visual recognition"; used by Zuo et al. 2016 (C-HRNN, Table I)
with the grids {6x6, 3x3, 2x2, 1x1} on the 13x13 conv5 map.

Bin `i` of `n` along an axis of length `a` covers `[floor(i a / n),
ceil((i + 1) a / n))` (adaptive pooling). For SPP-net's sizes this is exactly
He et al.'s window `ceil(a / n)` and stride `floor(a / n)` (13 -> 6: 3/2,
13 -> 3: 5/4, 13 -> 2: 7/6, 13 -> 1: 13), and unlike that formula it gives
`n` bins for every `a` (also `a < n`, where bins repeat cells). When the bins
are evenly spaced the layer uses one pooling op; otherwise it pools rows,
then columns (both max and mean are separable over a rectangle).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

MODES = ("max", "avg")


def bin_edges(length, bins):
    """`[(start, stop), ...]` of the `bins` adaptive bins along an axis of `length` cells."""
    return [(math.floor(i * length / bins), math.ceil((i + 1) * length / bins))
            for i in range(bins)]


def _uniform(edges):
    sizes = {b - a for a, b in edges}
    steps = {edges[i + 1][0] - edges[i][0] for i in range(len(edges) - 1)}
    return len(sizes) == 1 and len(steps) <= 1


def _check_bins(bins):
    out = []
    for b in bins:
        pair = (int(b), int(b)) if isinstance(b, (int, float)) else tuple(int(v) for v in b)
        if len(pair) != 2 or min(pair) < 1:
            raise ValueError(f"Each pyramid level is an int n (n x n bins) or a pair (rows, "
                             f"cols) >= 1; received {b!r} in {list(bins)}.")
        out.append(pair)
    if not out:
        raise ValueError("`bins` is empty; e.g. use (6, 3, 2, 1).")
    return out


@keras.saving.register_keras_serializable(package="hier_keras")
class SpatialPyramidPooling(layers.Layer):
    """Pool `(batch, H, W, C)` into each of several fixed grids (SPP-net).

    Args:
        bins: pyramid levels, each an int `n` (an n x n grid) or a pair
            `(rows, cols)`. Defaults to `(6, 3, 2, 1)` (SPP-net / C-HRNN).
        mode: `"max"` (SPP-net) or `"avg"`. Defaults to `"max"`.
        flatten: return one vector, the levels flattened (row-major) and
            concatenated in the order of `bins`; else the list of pooled
            maps `(batch, rows, cols, C)`. Defaults to `True`.

    Example:

    >>> import numpy as np
    >>> spp = SpatialPyramidPooling((6, 3, 2, 1))
    >>> tuple(spp(np.ones((2, 13, 13, 4), "float32")).shape)  # (36 + 9 + 4 + 1) * 4
    (2, 200)
    >>> [tuple(m.shape) for m in SpatialPyramidPooling((2, 1), flatten=False)(np.ones((1, 7, 7, 3)))]
    [(1, 2, 2, 3), (1, 1, 1, 3)]
    """

    def __init__(self, bins=(6, 3, 2, 1), mode="max", flatten=True, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Unknown pooling mode {mode!r}; use 'max' or 'avg'.")
        self.bins = _check_bins(bins)
        self.mode = mode
        self.flatten = bool(flatten)

    def _reduce(self, x, axis):
        return ops.max(x, axis=axis, keepdims=True) if self.mode == "max" else \
            ops.mean(x, axis=axis, keepdims=True)

    def _pool_axis(self, x, axis, bins):
        edges = bin_edges(x.shape[axis], bins)
        parts = []
        for a, b in edges:
            index = [slice(None)] * 4
            index[axis] = slice(a, b)
            parts.append(self._reduce(x[tuple(index)], axis))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=axis)

    def pool(self, x, rows, cols):
        """One pyramid level: `(batch, rows, cols, C)`."""
        height, width = x.shape[1], x.shape[2]
        if height is None or width is None:
            raise ValueError("SpatialPyramidPooling needs static H and W; received shape "
                             f"{tuple(x.shape)}.")
        er, ec = bin_edges(height, rows), bin_edges(width, cols)
        if (rows, cols) == (1, 1):
            return self._reduce(self._reduce(x, 1), 2)
        if _uniform(er) and _uniform(ec) and height >= rows and width >= cols:
            size = (er[0][1] - er[0][0], ec[0][1] - ec[0][0])
            strides = (er[1][0] - er[0][0] if rows > 1 else 1, ec[1][0] - ec[0][0] if cols > 1 else 1)
            fn = ops.max_pool if self.mode == "max" else ops.average_pool
            return fn(x, size, strides=strides, padding="valid")
        return self._pool_axis(self._pool_axis(x, 1, rows), 2, cols)

    def call(self, inputs):
        maps = [self.pool(inputs, r, c) for r, c in self.bins]
        if not self.flatten:
            return maps
        channels = inputs.shape[-1]
        return ops.concatenate([ops.reshape(m, (-1, r * c * channels))
                                for m, (r, c) in zip(maps, self.bins)], axis=-1)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        if self.flatten:
            return (input_shape[0], sum(r * k for r, k in self.bins) * c)
        return [(input_shape[0], r, k, c) for r, k in self.bins]

    def get_config(self):
        return super().get_config() | {"bins": [list(b) for b in self.bins], "mode": self.mode,
                                       "flatten": self.flatten}
