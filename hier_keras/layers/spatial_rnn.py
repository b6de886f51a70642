"""Spatial RNNs over 2-D grids: `SpatialRNN2D` and `HierarchicalRNN2D` (C-HRNN's hrnn6 layer).

Zuo, Shuai, Wang, Liu, Wang, Wang (2016), "Learning Contextual Dependencies with
Convolutional Hierarchical Recurrent Neural Networks", Sec. III-C, eq. 10-24.

**Spatial SRN** (eq. 10-13): in each of four directions, cell `(r, c)` reads
its row-previous and column-previous neighbours through separate matrices,

    h(r,c) = relu(W^r h(r -+ 1, c) + W^c h(r, c -+ 1) + W_x x(r,c) + b),

and the output is the sum of the directions (eq. 14). **Spatial LSTM**
(eq. 15-20): gates `p in {i, f, o, g}` each with their own `W^r_p, W^c_p, W_xp,
b_p` (sigmoid for i, f, o; tanh for g) and

    c(r,c) = f * (c_row_prev + c_col_prev) + i * g,    h(r,c) = o * tanh(c).

Directions, named by the way they travel (neighbours read -> equation):

=============  =====================  ===========================
name           start -> end corner    previous row / column, eq.
=============  =====================  ===========================
`down_right`   top-left -> bot-right  (r-1, c), (r, c-1), eq. 10
`up_left`      bot-right -> top-left  (r+1, c), (r, c+1), eq. 11
`up_right`     bot-left -> top-right  (r+1, c), (r, c-1), eq. 12
`down_left`    top-right -> bot-left  (r-1, c), (r, c+1), eq. 13
=============  =====================  ===========================

(The paper's arrow subscripts of eq. 11 and 13 disagree with its text; the
neighbour indices of the equations are what this module follows.) Outside the
grid the previous state is zero.

**Computation**: cells on one anti-diagonal `r + c = k` depend only on the
previous anti-diagonal, so the grid is computed in `H + W - 1` vectorised
steps (the wavefront), each one batched matmul. The four directions run as
one batched pass: every direction's input is flipped onto `down_right`, the
directions are stacked on a leading axis with their own weights, and the
results are flipped back and summed. The loop is unrolled at trace time
(grids here are at most a few dozen cells across), so `H` and `W` must be
static. `implementation="cell"` is the plain cell-by-cell reference (one
direction after another, one cell after another, in the original
orientation), kept for tests and the speed comparison; both hoist the input
projection `W_x x + b` out of the recurrence.

**Scale dependencies** (eq. 21-23): `HierarchicalRNN2D` runs one spatial RNN
per pooled scale, coarsest first; each finer scale adds
`s = sum_j W_jl h_j(covering position)` from every coarser scale `j` to the
pre-activation of every gate of every direction (one `W_jl` per pair of
scales, shared by the gates and directions, as the parameter count of Sec.
IV-C.4 implies). `cross_scale=False` gives the C-MRNN variants.

Our choices where the paper is silent:

- A 1x1 scale has no spatial neighbours and, per the count of Sec. IV-C.4
  (42 = 3 x 12 + 6 matrices), no recurrent matrices: its output is its pooled
  input ("one global 1x1 pooling layer"), which the finer scales read.
- Covering position: the coarse cell containing the fine cell's centre,
  `r_j = floor((2 r_l + 1) h_j / (2 h_l))`; a centre on a boundary (the middle
  row of 3 under 2) goes to the later cell.
- Initialisation: input kernels Glorot-uniform, recurrent kernels orthogonal
  with gain 0.5 (a cell sums two recurrent inputs, and the number of
  monotone paths through the grid grows fast), biases zero, forget-gate bias 0
  (`unit_forget_bias=False`; with two summed cell states a +1 bias lets the
  cell state grow along the diagonal).
- `recurrence="none"` is the paper's "modified CNN" control (Sec. IV-C.2):
  every recurrent matrix becomes a 1x1 convolution. The cell is evaluated
  twice at each position: first with zero neighbours, then with both
  neighbour slots fed the first pass's state `(h0, c0)` of the *same*
  position, so all matrices and non-linearities are used but no information
  moves between positions (same parameter count as the RNN).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

DIRECTIONS = ("down_right", "up_left", "up_right", "down_left")
#: Flips `(rows, columns)` that map each direction onto `down_right`.
FLIPS = {"down_right": (False, False), "up_left": (True, True),
         "up_right": (True, False), "down_left": (False, True)}
#: Steps `(dr, dc)`: the previous row is `r - dr`, the previous column `c - dc`.
STEPS = {"down_right": (1, 1), "up_left": (-1, -1), "up_right": (-1, 1), "down_left": (1, -1)}
CELLS = {"srn": 1, "lstm": 4}
IMPLEMENTATIONS = ("wavefront", "cell")
RECURRENCES = ("spatial", "none")


def check_directions(directions) -> list[str]:
    """`"all"`, one name or a list of names -> a list of distinct direction names."""
    if directions is None or directions == "all":
        return list(DIRECTIONS)
    if isinstance(directions, str):
        directions = [directions]
    out = []
    for d in directions:
        if d not in DIRECTIONS:
            raise ValueError(f"Unknown direction {d!r}; use names from {DIRECTIONS} or 'all'.")
        if d in out:
            raise ValueError(f"Direction {d!r} is listed twice in {list(directions)}.")
        out.append(d)
    if not out:
        raise ValueError("`directions` is empty; give at least one of " f"{DIRECTIONS}.")
    return out


# --------------------------------------------------------------------------- cells
def cell_update(z, cell, activation, c_sum=None):
    """One cell from its pre-activation `z` (`(..., G*U)`).

    Args:
        z: pre-activations, gates side by side in the order i, f, o, g (LSTM).
        cell: `"srn"` or `"lstm"`.
        activation: the SRN non-linearity (a callable).
        c_sum: `c_row_prev + c_col_prev` (LSTM only); `None` means zeros.

    Returns:
        `(h, c)`; `c` is `None` for the SRN.
    """
    if cell == "srn":
        return activation(z), None
    i, f, o, g = ops.split(z, 4, axis=-1)
    i, f, o, g = ops.sigmoid(i), ops.sigmoid(f), ops.sigmoid(o), ops.tanh(g)
    c = i * g if c_sum is None else f * c_sum + i * g
    return o * ops.tanh(c), c


def _diagonals(height, width):
    """Rows `(lo, hi)` of every anti-diagonal `k = r + c` and the diagonal-order permutation."""
    spans, perm = [], []
    for k in range(height + width - 1):
        lo, hi = max(0, k - width + 1), min(k, height - 1)
        spans.append((lo, hi))
        perm.extend(r * width + (k - r) for r in range(lo, hi + 1))
    return spans, np.asarray(perm, np.int32)


def _shift_rows(prev, lo_prev, hi_prev, lo, hi, offset):
    """Rows `lo - offset .. hi - offset` of the previous diagonal (`prev` holds rows
    `lo_prev .. hi_prev` on axis 2), zero where outside it."""
    start, stop = lo - offset, hi - offset
    top = max(0, lo_prev - start)
    bottom = max(0, stop - hi_prev)
    part = prev[:, :, max(start, lo_prev) - lo_prev: min(stop, hi_prev) - lo_prev + 1]
    if top or bottom:
        part = ops.pad(part, [[0, 0], [0, 0], [top, bottom], [0, 0]])
    return part


def wavefront(pre, row_kernel, col_kernel, cell, activation):
    """The down-right recurrence of `D` stacked directions, one anti-diagonal per step.

    Args:
        pre: `(D, B, H, W, G*U)` input pre-activations (`W_x x + b (+ s)`),
            every direction already flipped onto `down_right`.
        row_kernel: `(D, U, G*U)` matrices `W^r` (previous row).
        col_kernel: `(D, U, G*U)` matrices `W^c` (previous column).
        cell: `"srn"` or `"lstm"`.
        activation: the SRN non-linearity.

    Returns:
        `(D, B, H, W, U)` hidden states.
    """
    d, height, width, gu = pre.shape[0], pre.shape[2], pre.shape[3], pre.shape[-1]
    units = row_kernel.shape[1]
    spans, perm = _diagonals(height, width)
    flat = ops.reshape(pre, (d, -1, height * width, gu))
    flat = ops.take(flat, perm, axis=2)  # diagonal order
    kernel = ops.concatenate([row_kernel, col_kernel], axis=1)  # (D, 2U, GU)
    outs, h_prev, c_prev, start = [], None, None, 0
    for k, (lo, hi) in enumerate(spans):
        n = hi - lo + 1
        z = flat[:, :, start: start + n]
        start += n
        c_sum = None
        if k:
            lo_p, hi_p = spans[k - 1]
            h_row = _shift_rows(h_prev, lo_p, hi_p, lo, hi, 1)
            h_col = _shift_rows(h_prev, lo_p, hi_p, lo, hi, 0)
            both = ops.reshape(ops.concatenate([h_row, h_col], axis=-1), (d, -1, 2 * units))
            z = z + ops.reshape(ops.matmul(both, kernel), (d, -1, n, gu))
            if cell == "lstm":
                c_sum = (_shift_rows(c_prev, lo_p, hi_p, lo, hi, 1)
                         + _shift_rows(c_prev, lo_p, hi_p, lo, hi, 0))
        h_prev, c_prev = cell_update(z, cell, activation, c_sum)
        outs.append(h_prev)
    h = ops.take(ops.concatenate(outs, axis=2), np.argsort(perm).astype(np.int32), axis=2)
    return ops.reshape(h, (d, -1, height, width, units))


def cell_by_cell(pre, row_kernel, col_kernel, cell, activation, directions):
    """Plain reference: each direction, each cell in its travel order, original orientation.

    Args:
        pre: `(D, B, H, W, G*U)` input pre-activations in the original orientation.
        row_kernel, col_kernel: `(D, U, G*U)`.
        cell: `"srn"` or `"lstm"`.
        activation: the SRN non-linearity.
        directions: the `D` direction names.

    Returns:
        `(D, B, H, W, U)` hidden states.
    """
    height, width = pre.shape[2], pre.shape[3]
    out = []
    for i, name in enumerate(directions):
        dr, dc = STEPS[name]
        rows = range(height) if dr > 0 else range(height - 1, -1, -1)
        cols = range(width) if dc > 0 else range(width - 1, -1, -1)
        h, c = {}, {}
        for r in rows:
            for col in cols:
                z = pre[i, :, r, col]
                up, left = (r - dr, col), (r, col - dc)
                c_sum = None
                if up in h:
                    z = z + ops.matmul(h[up], row_kernel[i])
                    c_sum = c.get(up)
                if left in h:
                    z = z + ops.matmul(h[left], col_kernel[i])
                    if cell == "lstm":
                        c_sum = c[left] if c_sum is None else c_sum + c[left]
                h[(r, col)], c[(r, col)] = cell_update(z, cell, activation, c_sum)
        grid = [ops.stack([h[(r, col)] for col in range(width)], axis=1) for r in range(height)]
        out.append(ops.stack(grid, axis=1))
    return ops.stack(out, axis=0)


def _flip(x, rows, cols, row_axis):
    if rows:
        x = ops.flip(x, axis=row_axis)
    if cols:
        x = ops.flip(x, axis=row_axis + 1)
    return x


def _matmul_last(x, w):
    """`x @ w` over the last axis of a `(B, H, W, C)` tensor."""
    shape = x.shape
    y = ops.matmul(ops.reshape(x, (-1, shape[-1])), w)
    return ops.reshape(y, (-1,) + tuple(shape[1:-1]) + (w.shape[-1],))


# --------------------------------------------------------------------------- layers
@keras.saving.register_keras_serializable(package="hier_keras")
class SpatialRNN2D(layers.Layer):
    """Four-direction spatial SRN / LSTM over a feature map (Zuo et al. 2016, eq. 10-20).

    Args:
        units: int. Size of every direction's hidden state (and the output).
        cell: `"srn"` (eq. 10-13, ReLU by default) or `"lstm"` (eq. 15-20).
            Defaults to `"srn"`.
        directions: `"all"` or a list of names from `DIRECTIONS`
            (`"down_right"`, `"up_left"`, `"up_right"`, `"down_left"`; see
            the module docstring for their equations). Defaults to `"all"`.
        activation: SRN non-linearity. Defaults to `"relu"`.
        implementation: `"wavefront"` (H + W - 1 batched steps, all
            directions at once) or `"cell"` (the cell-by-cell reference).
            Defaults to `"wavefront"`.
        recurrence: `"spatial"` (the RNN) or `"none"` (the modified-CNN
            control: recurrent matrices act as 1x1 convolutions at the same
            position). Defaults to `"spatial"`.
        use_bias: add the biases `b`. Defaults to `True`.
        unit_forget_bias: initialise the LSTM forget-gate bias to 1.
            Defaults to `False`.
        kernel_initializer: initializer of `W_x`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: initializer of `W^r`, `W^c`. Defaults to an
            orthogonal initializer with gain 0.5.
        bias_initializer: Defaults to `"zeros"`.

    Weights (directions stacked on the first axis, LSTM gates side by side
    in the order i, f, o, g): `kernel` `(D, C, G*U)`, `row_kernel` and
    `col_kernel` `(D, U, G*U)`, `bias` `(D, G*U)`; `G` is 1 (SRN) or 4 (LSTM).

    Call arguments:
        inputs: `(batch, H, W, C)` with static `H`, `W`.
        context: optional `(batch, H, W, U)` added to the pre-activation of
            every gate of every direction (the scale term `s` of eq. 22-23).
        return_directions: return `(D, batch, H, W, U)` instead of the sum.

    Returns:
        `(batch, H, W, units)`: the sum over directions (eq. 14 / 24).

    Example:

    >>> import numpy as np
    >>> rnn = SpatialRNN2D(8, cell="lstm", directions=["down_right", "up_left"])
    >>> tuple(rnn(np.ones((2, 6, 6, 16), "float32")).shape)
    (2, 6, 6, 8)
    """

    def __init__(self, units, cell="srn", directions="all", activation="relu",
                 implementation="wavefront", recurrence="spatial", use_bias=True,
                 unit_forget_bias=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}; use 'srn' or 'lstm'.")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"Unknown implementation {implementation!r}; use one of "
                             f"{IMPLEMENTATIONS}.")
        if recurrence not in RECURRENCES:
            raise ValueError(f"Unknown recurrence {recurrence!r}; use one of {RECURRENCES}.")
        if int(units) < 1:
            raise ValueError(f"`units` must be a positive int; received {units}.")
        self.units = int(units)
        self.cell = cell
        self.directions = check_directions(directions)
        self.activation = keras.activations.get(activation)
        self.implementation = implementation
        self.recurrence = recurrence
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(
            recurrent_initializer or keras.initializers.Orthogonal(gain=0.5))
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def gates(self) -> int:
        return CELLS[self.cell]

    def build(self, inputs_shape, context_shape=None):
        input_shape = inputs_shape
        if len(input_shape) != 4 or input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                "SpatialRNN2D needs inputs (batch, H, W, C) with static H and W (the wavefront "
                f"is unrolled over the grid); received shape {tuple(input_shape)}.")
        d, u, gu = len(self.directions), self.units, self.gates * self.units
        self.grid_shape = (int(input_shape[1]), int(input_shape[2]))
        self.kernel = self.add_weight(shape=(d, int(input_shape[-1]), gu),
                                      initializer=self.kernel_initializer, name="kernel")
        self.row_kernel = self.add_weight(shape=(d, u, gu), initializer=self.recurrent_initializer,
                                          name="row_kernel")
        self.col_kernel = self.add_weight(shape=(d, u, gu), initializer=self.recurrent_initializer,
                                          name="col_kernel")
        self.bias = None
        if self.use_bias:
            init = self.bias_initializer
            if self.cell == "lstm" and self.unit_forget_bias:
                base = self.bias_initializer

                def init(shape, dtype=None):
                    b = ops.convert_to_tensor(base(shape, dtype=dtype))
                    forget = np.zeros(shape, np.float32)
                    forget[:, u: 2 * u] = 1.0
                    return b + ops.cast(forget, b.dtype)

            self.bias = self.add_weight(shape=(d, gu), initializer=init, name="bias")

    def pre_activations(self, inputs, context=None):
        """`W_x x + b (+ s)` for every direction: `(D, batch, H, W, G*U)`."""
        height, width = inputs.shape[1], inputs.shape[2]
        d, gu = len(self.directions), self.gates * self.units
        kernel = ops.reshape(ops.transpose(self.kernel, (1, 0, 2)), (self.kernel.shape[1], d * gu))
        pre = ops.reshape(_matmul_last(inputs, kernel), (-1, height, width, d, gu))
        if self.bias is not None:
            pre = pre + self.bias
        if context is not None:
            pre = pre + ops.expand_dims(ops.tile(context, [1, 1, 1, self.gates]), 3)
        return ops.transpose(pre, (3, 0, 1, 2, 4))

    def call(self, inputs, context=None, return_directions=False):
        pre = self.pre_activations(inputs, context)
        if self.recurrence == "none":
            h = self._positionwise(pre)
        elif self.implementation == "cell":
            h = cell_by_cell(pre, self.row_kernel, self.col_kernel, self.cell, self.activation,
                             self.directions)
        else:
            flips = [FLIPS[n] for n in self.directions]
            pre = ops.stack([_flip(pre[i], *f, 1) for i, f in enumerate(flips)], axis=0)
            h = wavefront(pre, self.row_kernel, self.col_kernel, self.cell, self.activation)
            h = ops.stack([_flip(h[i], *f, 1) for i, f in enumerate(flips)], axis=0)
        return h if return_directions else ops.sum(h, axis=0)

    def _positionwise(self, pre):
        """Modified CNN: neighbours replaced by the first pass's state at the same position."""
        shape = pre.shape
        d, gu = shape[0], shape[-1]
        h0, c0 = cell_update(pre, self.cell, self.activation)
        kernel = ops.concatenate([self.row_kernel, self.col_kernel], axis=1)
        both = ops.reshape(ops.concatenate([h0, h0], axis=-1), (d, -1, 2 * self.units))
        z = pre + ops.reshape(ops.matmul(both, kernel), (d, -1) + tuple(shape[2:4]) + (gu,))
        h, _ = cell_update(z, self.cell, self.activation, None if c0 is None else c0 + c0)
        return h

    def compute_output_shape(self, inputs_shape, context_shape=None, return_directions=False):
        input_shape = inputs_shape
        out = tuple(input_shape[:3]) + (self.units,)
        return (len(self.directions),) + out if return_directions else out

    def get_config(self):
        return super().get_config() | {
            "units": self.units, "cell": self.cell, "directions": list(self.directions),
            "activation": keras.activations.serialize(self.activation),
            "implementation": self.implementation, "recurrence": self.recurrence,
            "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def covering_index(fine, coarse) -> np.ndarray:
    """Index of the coarse cell containing each fine cell's centre along one axis."""
    return ((2 * np.arange(fine) + 1) * coarse // (2 * fine)).astype(np.int32)


@keras.saving.register_keras_serializable(package="hier_keras")
class HierarchicalRNN2D(layers.Layer):
    """Spatial RNNs on several pooled scales with cross-scale links (Zuo et al. 2016, eq. 21-24).

    Takes the pooled maps of all scales (e.g. `SpatialPyramidPooling(
    flatten=False)` of conv5: 6x6, 3x3, 2x2, 1x1), runs a `SpatialRNN2D` on
    every scale with more than one cell, coarsest first, and adds to each
    finer scale's gates `s = sum_j W_jl h_j` from every coarser scale `j` at
    the covering position. A 1x1 scale passes its pooled input through (see
    the module docstring).

    Args:
        units: int. Hidden size of every scale's RNN.
        cell: `"srn"` (HSRN) or `"lstm"` (HLSTM). Defaults to `"srn"`.
        directions: directions of the spatial RNNs. Defaults to `"all"`.
        cross_scale: add the scale terms of eq. 21-23. `False` gives the
            C-MRNN variants. Defaults to `True`.
        scale_initializer: initializer of the `W_jl`. Defaults to
            `"glorot_uniform"`.
        **rnn_kwargs: more `SpatialRNN2D` arguments (`implementation`,
            `recurrence`, `activation`, initializers, `unit_forget_bias`).

    Call arguments:
        inputs: list of `(batch, h_l, w_l, C)` maps, one per scale, any order
            (no two scales of the same size).

    Returns:
        The list of outputs in the order of the inputs: `(batch, h_l, w_l,
        units)`, or the input itself for a 1x1 scale.

    Example:

    >>> import numpy as np
    >>> maps = [np.ones((2, n, n, 16), "float32") for n in (6, 3, 2, 1)]
    >>> outs = HierarchicalRNN2D(16, cell="lstm")(maps)
    >>> [tuple(o.shape) for o in outs]
    [(2, 6, 6, 16), (2, 3, 3, 16), (2, 2, 2, 16), (2, 1, 1, 16)]
    """

    def __init__(self, units, cell="srn", directions="all", cross_scale=True,
                 scale_initializer="zeros", **rnn_kwargs):
        base = {k: rnn_kwargs.pop(k) for k in ("name", "dtype", "trainable") if k in rnn_kwargs}
        super().__init__(**base)
        self.units = int(units)
        self.cell = cell
        self.directions = check_directions(directions)
        self.cross_scale = bool(cross_scale)
        self.scale_initializer = keras.initializers.get(scale_initializer)
        self.rnn_kwargs = dict(rnn_kwargs)
        SpatialRNN2D(self.units, cell=cell, directions=self.directions, **self.rnn_kwargs)  # checks

    def build(self, input_shapes):
        shapes = [tuple(s) for s in input_shapes]
        sizes = [(s[1], s[2]) for s in shapes]
        if any(len(s) != 4 or None in s[1:3] for s in shapes):
            raise ValueError("HierarchicalRNN2D needs a list of (batch, h, w, C) maps with static "
                             f"h and w; received {shapes}.")
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"Two scales have the same size in {sizes}; give each scale once.")
        # Coarsest first: fewest cells.
        self.order = sorted(range(len(shapes)), key=lambda i: sizes[i][0] * sizes[i][1])
        self.rnn_layers, self._rnn_index, self._scale_pairs, self.scale_kernels = [], {}, [], []
        dims = {}
        for i in self.order:
            h, w = sizes[i]
            if h * w == 1:
                dims[i] = shapes[i][-1]
                continue
            rnn = SpatialRNN2D(self.units, cell=self.cell, directions=self.directions,
                               name=f"rnn_{h}x{w}", dtype=self.dtype_policy, **self.rnn_kwargs)
            rnn.build(shapes[i])
            self._rnn_index[i] = len(self.rnn_layers)
            self.rnn_layers.append(rnn)
            dims[i] = self.units
        if self.cross_scale:
            for pos, l in enumerate(self.order):
                if l not in self._rnn_index:
                    continue
                for j in self.order[:pos]:
                    (hj, wj), (hl, wl) = sizes[j], sizes[l]
                    self._scale_pairs.append((j, l))
                    self.scale_kernels.append(self.add_weight(
                        shape=(dims[j], self.units), initializer=self.scale_initializer,
                        name=f"scale_{hj}x{wj}_to_{hl}x{wl}"))
        self._sizes = sizes

    def call(self, inputs):
        outputs = [None] * len(inputs)
        for l in self.order:
            if l not in self._rnn_index:
                outputs[l] = inputs[l]
                continue
            hl, wl = self._sizes[l]
            context = None
            for (j, target), kernel in zip(self._scale_pairs, self.scale_kernels):
                if target != l:
                    continue
                hj, wj = self._sizes[j]
                term = _matmul_last(outputs[j], kernel)
                term = ops.take(term, covering_index(hl, hj), axis=1)
                term = ops.take(term, covering_index(wl, wj), axis=2)
                context = term if context is None else context + term
            outputs[l] = self.rnn_layers[self._rnn_index[l]](inputs[l], context=context)
        return outputs

    def compute_output_shape(self, input_shapes):
        return [tuple(s[:3]) + ((self.units,) if s[1] * s[2] > 1 else (s[-1],))
                for s in input_shapes]

    def get_config(self):
        return super().get_config() | {
            "units": self.units, "cell": self.cell, "directions": list(self.directions),
            "cross_scale": self.cross_scale,
            "scale_initializer": keras.initializers.serialize(self.scale_initializer),
            **{k: keras.initializers.serialize(v) if isinstance(v, keras.initializers.Initializer)
               else v for k, v in self.rnn_kwargs.items()},
        }
