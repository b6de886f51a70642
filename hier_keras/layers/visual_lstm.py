"""`VisualLSTMCell`: an LSTM whose every gate also reads the image feature.

Guo, Liu, Bakker, Guo, Lew (2018), "CNN-RNN: a large-scale hierarchical image
classification framework", eq. 2-7:

    i_t = sigmoid(W_xi x_t + W_hi h_{t-1} + W_vi v + b_i)
    f_t = sigmoid(W_xf x_t + W_hf h_{t-1} + W_vf v + b_f)
    o_t = sigmoid(W_xo x_t + W_ho h_{t-1} + W_vo v + b_o)
    g_t = tanh   (W_xc x_t + W_hc h_{t-1} + W_vc v + b_c)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

The four gates' weights are stored side by side (columns i, f, o, g) in
`input_kernel` (x), `recurrent_kernel` (h) and `visual_kernel` (v).
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="hier_keras")
class VisualLSTMCell(layers.Layer):
    """One step of Guo et al.'s LSTM with the image feature `v` in every gate.

    Args:
        units: int. Size of the hidden and cell state.
        kernel_initializer: initializer of the input and visual kernels.
            Defaults to `"glorot_uniform"`.
        recurrent_initializer: initializer of the recurrent kernel. Defaults
            to `"orthogonal"`.
        unit_forget_bias: add 1 to the forget-gate bias at init. Defaults to `True`.

    Call arguments:
        inputs: `(batch, input_dim)` input of the step (a label embedding).
        h: `(batch, units)` previous hidden state.
        c: `(batch, units)` previous cell state.
        visual: `(batch, visual_dim)` image feature `v`.

    Returns:
        `(h_t, c_t)`.

    Example:

    >>> import numpy as np
    >>> cell = VisualLSTMCell(4)
    >>> h, c = cell(np.ones((2, 3)), np.zeros((2, 4)), np.zeros((2, 4)), np.ones((2, 5)))
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    """

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", unit_forget_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, inputs_shape, h_shape=None, c_shape=None, visual_shape=None):
        u = self.units
        self.input_kernel = self.add_weight(
            shape=(inputs_shape[-1], 4 * u), initializer=self.kernel_initializer,
            name="input_kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(u, 4 * u), initializer=self.recurrent_initializer, name="recurrent_kernel")
        self.visual_kernel = self.add_weight(
            shape=(visual_shape[-1], 4 * u), initializer=self.kernel_initializer,
            name="visual_kernel")

        def bias_init(shape, dtype=None):
            bias = ops.zeros(shape, dtype=dtype)
            if self.unit_forget_bias:
                bias = ops.concatenate([ops.zeros((u,)), ops.ones((u,)), ops.zeros((2 * u,))])
            return ops.cast(bias, dtype or "float32")

        self.bias = self.add_weight(shape=(4 * u,), initializer=bias_init, name="bias")

    def visual_projection(self, visual):
        """`W_v v + b` for all four gates: constant over the steps, compute it once."""
        return ops.matmul(visual, self.visual_kernel) + self.bias

    def step(self, inputs, h, c, visual_projection):
        """One step given a precomputed `visual_projection(v)`."""
        z = ops.matmul(inputs, self.input_kernel) + ops.matmul(h, self.recurrent_kernel)
        z = z + visual_projection
        i, f, o, g = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, c

    def call(self, inputs, h, c, visual):
        return self.step(inputs, h, c, self.visual_projection(visual))

    def compute_output_spec(self, inputs, h, c, visual):
        spec = keras.KerasTensor((inputs.shape[0], self.units), dtype=self.compute_dtype)
        return spec, spec

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            unit_forget_bias=self.unit_forget_bias,
        )
        return config
