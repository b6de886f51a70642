"""Spatial RNNs (Zuo et al. 2016): every direction and both cells against a NumPy transcription
of eq. 10-20, wavefront == cell-by-cell (values and gradients), the scale terms of eq. 21-23,
the parameter counts of Sec. IV-C.4, spatial pyramid pooling, the modified-CNN control."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from hier_keras.layers.spatial_pyramid_pooling import SpatialPyramidPooling, bin_edges
from hier_keras.layers.spatial_rnn import (
    DIRECTIONS,
    HierarchicalRNN2D,
    SpatialRNN2D,
    covering_index,
)

# Eq. 10-13: (row-previous, column-previous) neighbour offsets of each direction.
NEIGHBOURS = {
    "down_right": ((-1, 0), (0, -1)),  # eq. 10: h(r-1, c), h(r, c-1)
    "up_left": ((1, 0), (0, 1)),       # eq. 11: h(r+1, c), h(r, c+1)
    "up_right": ((1, 0), (0, -1)),     # eq. 12: h(r+1, c), h(r, c-1)
    "down_left": ((-1, 0), (0, 1)),    # eq. 13: h(r-1, c), h(r, c+1)
}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_direction(x, weights, cell, direction, s=None):
    """Eq. 10-13 (SRN, ReLU) or eq. 15-20 (LSTM) for one direction, by memoised recursion."""
    wx, wr, wc, b = (np.asarray(w, np.float64) for w in weights)
    x = np.asarray(x, np.float64)
    n, height, width, _ = x.shape
    u = wr.shape[0]
    (ar, ac), (br, bc) = NEIGHBOURS[direction]
    memo = {}

    def gate(k):  # columns of gate k (i, f, o, g) of every matrix
        return (wx[:, k * u:(k + 1) * u], wr[:, k * u:(k + 1) * u], wc[:, k * u:(k + 1) * u],
                b[k * u:(k + 1) * u])

    def state(r, c):
        if not (0 <= r < height and 0 <= c < width):
            return np.zeros((n, u)), np.zeros((n, u))
        if (r, c) not in memo:
            h_row, c_row = state(r + ar, c + ac)
            h_col, c_col = state(r + br, c + bc)
            extra = 0.0 if s is None else np.asarray(s, np.float64)[:, r, c]

            def pre(k):
                w_x, w_r, w_c, b_p = gate(k)
                return h_row @ w_r + h_col @ w_c + x[:, r, c] @ w_x + b_p + extra

            if cell == "srn":
                memo[(r, c)] = (np.maximum(pre(0), 0.0), None)
            else:
                i, f, o, g = sigmoid(pre(0)), sigmoid(pre(1)), sigmoid(pre(2)), np.tanh(pre(3))
                cell_state = f * (c_row + c_col) + i * g          # eq. 19
                memo[(r, c)] = (o * np.tanh(cell_state), cell_state)  # eq. 20
        return memo[(r, c)]

    return np.stack([np.stack([state(r, c)[0] for c in range(width)], 1)
                     for r in range(height)], 1)


def direction_weights(layer, d):
    w = [layer.kernel, layer.row_kernel, layer.col_kernel, layer.bias]
    return [np.asarray(v)[d] for v in w]


def randomize(layer, rng, scale=0.6):
    layer.set_weights([rng.normal(0, scale, np.shape(w)).astype("float32")
                       for w in layer.get_weights()])


@pytest.mark.parametrize("cell", ["srn", "lstm"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_each_direction_matches_the_equations(cell, direction, rng):
    x = rng.normal(size=(2, 3, 4, 3)).astype("float32")
    wave = SpatialRNN2D(2, cell=cell, directions=[direction])
    wave(x)
    randomize(wave, rng)
    want = np_direction(x, direction_weights(wave, 0), cell, direction)
    assert np.abs(want).max() > 0.1  # not all dead ReLUs / saturated gates
    ref = SpatialRNN2D(2, cell=cell, directions=[direction], implementation="cell")
    ref(x)
    ref.set_weights(wave.get_weights())
    np.testing.assert_allclose(np.asarray(wave(x)), want, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ref(x)), want, atol=1e-5)


@pytest.mark.parametrize("cell", ["srn", "lstm"])
def test_four_directions_sum_with_scale_context(cell, rng):
    x = rng.normal(size=(2, 4, 3, 3)).astype("float32")
    s = rng.normal(size=(2, 4, 3, 2)).astype("float32")
    layer = SpatialRNN2D(2, cell=cell)
    layer(x, context=s)
    randomize(layer, rng)
    want = sum(np_direction(x, direction_weights(layer, d), cell, name, s=s)
               for d, name in enumerate(DIRECTIONS))  # eq. 14 / 24, s in every gate (eq. 22-23)
    np.testing.assert_allclose(np.asarray(layer(x, context=s)), want, atol=1e-5)
    per_dir = np.asarray(layer(x, context=s, return_directions=True))
    assert per_dir.shape == (4, 2, 4, 3, 2)
    np.testing.assert_allclose(per_dir.sum(0), want, atol=1e-5)


@pytest.mark.parametrize("cell", ["srn", "lstm"])
def test_wavefront_equals_cell_by_cell_values_and_gradients(cell, rng):
    x = tf.constant(rng.normal(size=(3, 5, 4, 3)).astype("float32"))
    s = tf.constant(rng.normal(size=(3, 5, 4, 4)).astype("float32"))
    wave = SpatialRNN2D(4, cell=cell, directions=["up_left", "down_right", "down_left"])
    wave(x, context=s)
    randomize(wave, rng, 0.4)
    ref = SpatialRNN2D(4, cell=cell, directions=["up_left", "down_right", "down_left"],
                       implementation="cell")
    ref(x, context=s)
    ref.set_weights(wave.get_weights())
    target = tf.constant(rng.normal(size=(3, 5, 4, 4)).astype("float32"))

    def grads(layer):
        with tf.GradientTape() as tape:
            tape.watch([x, s])
            y = layer(x, context=s)
            loss = tf.reduce_sum(tf.square(y - target))
        return y, tape.gradient(loss, [x, s] + layer.trainable_weights)

    y1, g1 = grads(wave)
    y2, g2 = grads(ref)
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), atol=1e-5)
    assert len(g1) == 6
    for a, b in zip(g1, g2):
        assert np.abs(b.numpy()).max() > 0
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_information_flows_only_along_the_direction(rng):
    x = rng.normal(size=(1, 4, 4, 2)).astype("float32")
    layer = SpatialRNN2D(3, cell="lstm", directions=["up_right"])  # eq. 12: from bottom-left
    base = np.asarray(layer(x))
    x2 = x.copy()
    x2[0, 2, 1] += 5.0
    changed = np.abs(np.asarray(layer(x2)) - base).max(-1)[0] > 1e-6
    rows, cols = np.indices((4, 4))
    np.testing.assert_array_equal(changed, (rows <= 2) & (cols >= 1))


@pytest.mark.parametrize("cell", ["srn", "lstm"])
def test_modified_cnn_is_positionwise(cell, rng):
    """recurrence="none": each recurrent matrix a 1x1 conv fed the cell's own first-pass state."""
    x = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    layer = SpatialRNN2D(2, cell=cell, directions=["down_right"], recurrence="none")
    layer(x)
    randomize(layer, rng)
    wx, wr, wc, b = (np.asarray(w, np.float64) for w in direction_weights(layer, 0))
    u = 2
    pre = x.astype(np.float64) @ wx + b
    if cell == "srn":
        h0 = np.maximum(pre, 0)
        want = np.maximum(pre + h0 @ wr + h0 @ wc, 0)
    else:
        def lstm(z, c_sum):
            i, f, o, g = (z[..., k * u:(k + 1) * u] for k in range(4))
            c = sigmoid(f) * c_sum + sigmoid(i) * np.tanh(g)
            return sigmoid(o) * np.tanh(c), c

        h0, c0 = lstm(pre, 0.0)
        want, _ = lstm(pre + h0 @ wr + h0 @ wc, c0 + c0)
    np.testing.assert_allclose(np.asarray(layer(x)), want, atol=1e-5)
    x2 = x.copy()
    x2[:, 1, 1] += 3.0
    diff = np.abs(np.asarray(layer(x2)) - np.asarray(layer(x))).max((0, -1))
    assert diff[1, 1] > 0 and np.count_nonzero(diff) == 1


def test_covering_positions():
    assert covering_index(6, 3).tolist() == [0, 0, 1, 1, 2, 2]
    assert covering_index(6, 2).tolist() == [0, 0, 0, 1, 1, 1]
    assert covering_index(3, 2).tolist() == [0, 1, 1]  # middle centre on the boundary
    assert covering_index(6, 1).tolist() == [0] * 6


@pytest.mark.parametrize("cross_scale", [True, False])
def test_hierarchical_rnn_matches_eq_21_to_23(cross_scale, rng):
    sizes = [3, 1, 2]  # any order; coarsest (1x1) first inside
    maps = [rng.uniform(0, 1, (2, n, n, 3)).astype("float32") for n in sizes]
    layer = HierarchicalRNN2D(3, cell="lstm", directions=["down_right", "up_left"],
                              cross_scale=cross_scale)
    layer(maps)
    randomize(layer, rng, 0.5)
    out = [np.asarray(o) for o in layer(maps)]
    np.testing.assert_array_equal(out[1], maps[1])  # the 1x1 scale passes through
    rnns = {r.name: r for r in layer.rnn_layers}
    kernels = {v.name: np.asarray(v, np.float64) for v in layer.scale_kernels}
    assert sorted(kernels) == ([] if not cross_scale else
                               ["scale_1x1_to_2x2", "scale_1x1_to_3x3", "scale_2x2_to_3x3"])
    h = {1: maps[1].astype(np.float64)}
    for n in (2, 3):  # coarse to fine
        s = np.zeros((2, n, n, 3))
        if cross_scale:
            for j in (1, 2):
                if j >= n:
                    continue
                for r in range(n):
                    for c in range(n):  # covering cell: the coarse cell holding the centre
                        rj, cj = int((r + 0.5) / n * j), int((c + 0.5) / n * j)
                        s[:, r, c] += h[j][:, rj, cj] @ kernels[f"scale_{j}x{j}_to_{n}x{n}"]
        rnn = rnns[f"rnn_{n}x{n}"]
        x = maps[sizes.index(n)]
        h[n] = sum(np_direction(x, direction_weights(rnn, d), "lstm", name, s=s)
                   for d, name in enumerate(["down_right", "up_left"]))
        np.testing.assert_allclose(out[sizes.index(n)], h[n], atol=1e-5)


@pytest.mark.parametrize("cell, matrices, count", [("srn", 42, 2_752_512), ("lstm", 150, 9_830_400)])
def test_paper_parameter_counts(cell, matrices, count):
    """Sec. IV-C.4: 256 channels, scales {6,3,2,1}: 3 x 12 (48) + 6 matrices of 256 x 256."""
    layer = HierarchicalRNN2D(256, cell=cell)
    layer.build([(None, n, n, 256) for n in (6, 3, 2, 1)])
    weights = [w for w in layer.weights if not w.path.endswith("bias")]
    total = sum(int(np.prod(w.shape)) for w in weights)
    assert total == count == matrices * 256 * 256
    assert len(layer.scale_kernels) == 6
    biases = sum(int(np.prod(w.shape)) for w in layer.weights if w.path.endswith("bias"))
    assert biases == 3 * 4 * 256 * (1 if cell == "srn" else 4)


def np_adaptive_pool(x, rows, cols, fn=np.max):
    h, w = x.shape[1:3]
    out = np.zeros((x.shape[0], rows, cols, x.shape[-1]), x.dtype)
    for i in range(rows):
        for j in range(cols):
            r0, r1 = int(np.floor(i * h / rows)), int(np.ceil((i + 1) * h / rows))
            c0, c1 = int(np.floor(j * w / cols)), int(np.ceil((j + 1) * w / cols))
            out[:, i, j] = fn(x[:, r0:r1, c0:c1], axis=(1, 2))
    return out


@pytest.mark.parametrize("shape, bins", [((13, 13), [6, 3, 2, 1]), ((7, 7), [6, 3, 2, 1]),
                                         ((5, 7), [(2, 3), 4, 1]), ((2, 3), [3])])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_spatial_pyramid_pooling_matches_numpy(shape, bins, mode, rng):
    x = rng.normal(size=(2,) + shape + (3,)).astype("float32")
    fn = np.max if mode == "max" else np.mean
    maps = SpatialPyramidPooling(bins, mode=mode, flatten=False)(x)
    flat = np.asarray(SpatialPyramidPooling(bins, mode=mode)(x))
    want = []
    for m, b in zip(maps, bins):
        r, c = (b, b) if isinstance(b, int) else b
        w = np_adaptive_pool(x, r, c, fn)
        np.testing.assert_allclose(np.asarray(m), w, atol=1e-6)
        want.append(w.reshape(2, -1))
    np.testing.assert_allclose(flat, np.concatenate(want, -1), atol=1e-6)


def test_spp_bins_are_he_et_al_windows_on_conv5():
    # 13x13 conv5: window ceil(13/n), stride floor(13/n) (SPP-net; Table I's x2, x4, x7, x13)
    for n, (win, stride) in {6: (3, 2), 3: (5, 4), 2: (7, 6), 1: (13, 13)}.items():
        assert bin_edges(13, n) == [(i * stride, i * stride + win) for i in range(n)]


def test_layer_configs_round_trip_and_errors(rng):
    maps = [rng.uniform(size=(1, n, n, 2)).astype("float32") for n in (2, 1)]
    for layer in [SpatialRNN2D(3, cell="lstm", directions=["up_left"], implementation="cell"),
                  HierarchicalRNN2D(3, cell="srn", cross_scale=False, recurrence="none",
                                    recurrent_initializer=keras.initializers.Orthogonal(0.3)),
                  SpatialPyramidPooling([(2, 3), 1], mode="avg")]:
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
        clone = keras.saving.deserialize_keras_object(config)
        assert clone.get_config() == layer.get_config()
    hr = HierarchicalRNN2D(3)
    hr(maps)
    clone = HierarchicalRNN2D.from_config(hr.get_config())
    clone(maps)
    clone.set_weights(hr.get_weights())
    np.testing.assert_allclose(np.asarray(clone(maps)[0]), np.asarray(hr(maps)[0]), atol=1e-6)
    with pytest.raises(ValueError, match="Unknown cell"):
        SpatialRNN2D(3, cell="gru")
    with pytest.raises(ValueError, match="Unknown direction 'left'"):
        SpatialRNN2D(3, directions=["left"])
    with pytest.raises(ValueError, match="listed twice"):
        SpatialRNN2D(3, directions=["up_left", "up_left"])
    with pytest.raises(ValueError, match="static H and W"):
        SpatialRNN2D(3).build((None, None, None, 2))
    with pytest.raises(ValueError, match="same size"):
        HierarchicalRNN2D(3).build([(None, 2, 2, 2), (None, 2, 2, 2)])
    with pytest.raises(ValueError, match="pyramid level"):
        SpatialPyramidPooling([0])
