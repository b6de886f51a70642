"""Koo et al. 2018 converters: the mode product against an explicit NumPy contraction,
parameter counts, and the Appendix A / B solvers on admissible and impossible sizes."""

import json

import numpy as np
import pytest

from hier_keras.layers import (
    ConvConverter,
    ModeProductConverter,
    PoolConverter,
    conv_conversion_choices,
    mode_shape_for,
    pool_conversion_choices,
)


def _contract(x, u1, u2, u3):
    """vec(a x1 U1 x2 U2 x3 U3) written as loops over the output entries (a is (H, W, D))."""
    b, h, w, d = x.shape
    m, n, v = len(u1), len(u2), len(u3)
    out = np.zeros((b, m, n, v))
    for i in range(m):
        for j in range(n):
            for k in range(v):
                # sum_{d, w, h} a[h, w, d] U1[i, d] U2[j, w] U3[k, h]
                out[:, i, j, k] = np.tensordot(
                    x, np.einsum("d,w,h->hwd", u1[i], u2[j], u3[k]), axes=([1, 2, 3], [0, 1, 2]))
    return out.reshape(b, -1)


def test_mode_product_matches_numpy_contraction(rng):
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")  # H=5, W=4, D=3
    g = ModeProductConverter(2, 3, 4)
    got = np.asarray(g(x))
    want = _contract(x, *(np.asarray(w) for w in (g.u1, g.u2, g.u3)))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert [tuple(w.shape) for w in (g.u1, g.u2, g.u3)] == [(2, 3), (3, 4), (4, 5)]
    # m*D + n*W + v*H parameters, no bias.
    assert g.count_params() == 2 * 3 + 3 * 4 + 4 * 5


def test_mode_shape_for_multiplies_to_p():
    for p, dims in [(64, (32, 14, 14)), (256, (512, 7, 7)), (17, (8, 3, 3))]:
        m, n, v = mode_shape_for(p, dims)
        assert m * n * v == p
    assert mode_shape_for(64, (32, 2, 2)) == (16, 2, 2)
    with pytest.raises(ValueError, match="must be >= 1"):
        mode_shape_for(0, (1, 1, 1))


@pytest.mark.parametrize("w, d, p", [(8, 16, 256), (7, 64, 256), (14, 32, 64), (5, 3, 12)])
def test_appendix_a_choices_give_p(w, d, p):
    choices = conv_conversion_choices(w, w, p, depth=d)
    assert choices
    for c in choices:
        f, g, z, k = c["filter_size"], c["strides"], c["padding"], c["filters"]
        out = (w - f + 2 * z) // g + 1
        assert (w - f + 2 * z) % g == 0 and k * out * out == p
        assert c["output_shape"] == (out, out, k)
        # The paper's cases.
        if c["case"] == 1:
            assert f == w and z == 0 and k == p
        elif c["case"] == 2:
            assert f == g < w
        elif c["case"] == 3:
            assert g == 1 and f < w and z == 0
        else:
            assert 1 < g < f < w
    assert 1 in {c["case"] for c in choices}  # F = W always works with K = p
    # The best choice really builds and gives p; its parameters are F*F*D*K + K.
    layer = ConvConverter(p)
    y = layer(np.zeros((2, w, w, d), "float32"))
    assert tuple(y.shape) == (2, p)
    c = layer.choice
    assert layer.count_params() == c["filter_size"] ** 2 * d * c["filters"] + c["filters"]
    assert c == choices[0]


def test_appendix_a_every_case_builds(rng):
    x = rng.normal(size=(1, 8, 8, 2)).astype("float32")
    seen = set()
    for c in conv_conversion_choices(8, 8, 64, depth=2):
        if c["case"] in seen:
            continue
        seen.add(c["case"])
        layer = ConvConverter(64, filter_size=c["filter_size"], strides=c["strides"],
                              padding=c["padding"], filters=c["filters"])
        assert tuple(layer(x).shape) == (1, 64)
    assert seen == {1, 2, 3, 4}


def test_appendix_a_impossible_sizes_raise_clear_error():
    assert conv_conversion_choices(8, 8, 100, depth=16, filters=3) == []
    with pytest.raises(ValueError, match=r"no convolution maps a 8x8x16 .* p=100 .*'filters': 3"
                                         r".*Admissible p near 100: \[.*75.*\].*Fix"):
        ConvConverter(100, filters=3).build((None, 8, 8, 16))
    # A prime p on a map whose every F < W output is larger than 1 only admits F = W.
    assert {c["case"] for c in conv_conversion_choices(6, 6, 7)} == {1}
    with pytest.raises(ValueError, match="no convolution"):
        ConvConverter(7, filter_size=3).build((None, 6, 6, 4))
    with pytest.raises(ValueError, match="known sizes"):
        ConvConverter(7).build((None, 16))


def test_appendix_b_pool_solver_and_parameter_free_pooling(rng):
    assert pool_conversion_choices(16, 8, 8, 256) == [2]
    assert pool_conversion_choices(16, 8, 8, 1024) == [1]
    assert pool_conversion_choices(4, 12, 12, 36) == [4]
    assert pool_conversion_choices(16, 8, 8, 100) == []
    assert pool_conversion_choices(16, 7, 7, 64) == []  # 7 is prime: F = 1 or 7 only
    x = rng.normal(size=(2, 8, 8, 16)).astype("float32")
    g = PoolConverter(256)
    got = np.asarray(g(x))
    want = x.reshape(2, 4, 2, 4, 2, 16).max(axis=(2, 4)).reshape(2, -1)
    np.testing.assert_allclose(got, want)
    assert g.count_params() == 0 and g.choice["mode_shape"] is None


def test_appendix_b_impossible_sizes():
    with pytest.raises(ValueError, match=r"no disjoint pooling of a 8x8x16 .* p=100.*"
                                         r"Admissible p: \[16, 64, 256, 1024\]"):
        PoolConverter(100, mode_product=False).build((None, 8, 8, 16))
    with pytest.raises(ValueError, match="does not tile"):
        PoolConverter(64, pool_size=3).build((None, 8, 8, 16))
    # "auto": the closest pooling, then a mode product to p (m*D + n*W + v*H parameters).
    g = PoolConverter(100)
    g.build((None, 8, 8, 16))
    (h, w, d), (m, n, v) = g.choice["pooled_shape"], g.choice["mode_shape"]
    assert m * n * v == 100
    assert g.count_params() == m * d + n * w + v * h
    assert tuple(g(np.zeros((3, 8, 8, 16), "float32")).shape) == (3, 100)


@pytest.mark.parametrize("layer", [ModeProductConverter(2, 2, 3), ConvConverter(48),
                                   PoolConverter(100, pooling="average")])
def test_converter_config_round_trip(layer, rng):
    x = rng.normal(size=(2, 6, 6, 4)).astype("float32")
    y = np.asarray(layer(x))
    clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y, rtol=1e-5)
