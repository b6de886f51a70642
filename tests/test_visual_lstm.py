"""VisualLSTMCell against a NumPy transcription of Guo et al. 2018, eq. 2-7."""

import keras
import numpy as np

from hier_keras.layers import VisualLSTMCell


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_cell_matches_equations_2_to_7(rng):
    units, n_in, n_vis, batch = 3, 4, 5, 2
    cell = VisualLSTMCell(units)
    x = rng.normal(size=(batch, n_in)).astype("float32")
    h = rng.normal(size=(batch, units)).astype("float32")
    c = rng.normal(size=(batch, units)).astype("float32")
    v = rng.normal(size=(batch, n_vis)).astype("float32")
    h_new, c_new = cell(x, h, c, v)
    cell.bias.assign(rng.normal(size=(4 * units,)).astype("float32"))
    h_new, c_new = cell(x, h, c, v)
    # Split the stored kernels into the paper's W_x*, W_h*, W_v* (gate order i, f, o, g).
    wx = np.split(cell.input_kernel.numpy(), 4, axis=1)
    wh = np.split(cell.recurrent_kernel.numpy(), 4, axis=1)
    wv = np.split(cell.visual_kernel.numpy(), 4, axis=1)
    b = np.split(cell.bias.numpy(), 4)
    i = _sigmoid(x @ wx[0] + h @ wh[0] + v @ wv[0] + b[0])   # eq. 2
    f = _sigmoid(x @ wx[1] + h @ wh[1] + v @ wv[1] + b[1])   # eq. 3
    o = _sigmoid(x @ wx[2] + h @ wh[2] + v @ wv[2] + b[2])   # eq. 4
    g = np.tanh(x @ wx[3] + h @ wh[3] + v @ wv[3] + b[3])    # eq. 5
    c_ref = f * c + i * g                                    # eq. 6
    h_ref = o * np.tanh(c_ref)                               # eq. 7
    np.testing.assert_allclose(np.asarray(c_new), c_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(h_new), h_ref, rtol=1e-5, atol=1e-6)


def test_cell_config_round_trip():
    cell = VisualLSTMCell(7, unit_forget_bias=False)
    clone = VisualLSTMCell.from_config(cell.get_config())
    assert clone.units == 7 and not clone.unit_forget_bias
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cell))
    assert isinstance(restored, VisualLSTMCell)
