"""C-HRNN family (Zuo et al. 2016): variants, C-MSRN degenerating to SPP-net, the 224 px
Table I network, round trips, and a short real training on the bundled Fashion-MNIST subset."""

import keras
import numpy as np
import pytest
from helpers import random_images, run_round_trips

import hier_keras as hk
from hier_keras.models.chrnn import CHRNN
from hier_keras.models.chrnn.chrnn import VARIANTS

TINY = CHRNN.tiny_overrides  # sppnet_small (4, 8, 8), units 8, fc 16


def _hrnn_matrices(model):
    """hrnn6 weights, biases excluded (the count of Sec. IV-C.4)."""
    return sum(int(np.prod(w.shape)) for w in model.weights
               if "/hrnn6/" in w.path and not w.path.endswith("bias"))


def test_variants_build_and_differ_as_the_paper_says():
    x = random_images((28, 28, 1))
    models = {v: CHRNN.from_preset("small_fashion_mnist", variant=v, **TINY) for v in VARIANTS}
    for v, m in models.items():
        out = m.predict(x, verbose=0)
        assert {k: o.shape for k, o in out.items()} == {"coarse": (3, 2), "medium": (3, 6),
                                                         "fine": (3, 10)}
        np.testing.assert_allclose(out["fine"].sum(-1), 1, atol=1e-5)
        assert (m.hrnn is None) == (v == "spp_net")
    # 8 channels, units 8, scales {6,3,2,1}: SRN 3 scales x 4 dirs x 3 matrices, LSTM x 4 gates,
    # plus 6 cross-scale matrices for the hierarchical variants only.
    m8 = 8 * 8
    assert _hrnn_matrices(models["c_hsrn"]) == (3 * 12 + 6) * m8
    assert _hrnn_matrices(models["c_msrn"]) == 3 * 12 * m8
    assert _hrnn_matrices(models["c_hlstm"]) == (3 * 48 + 6) * m8
    assert _hrnn_matrices(models["c_mlstm"]) == 3 * 48 * m8
    # The modified CNN keeps every matrix (same parameter count) but no spatial recurrence.
    assert models["modified_cnn"].count_params() == models["c_hsrn"].count_params()
    assert models["modified_cnn_lstm"].count_params() == models["c_hlstm"].count_params()
    assert all(r.recurrence == "none" for r in models["modified_cnn"].hrnn.rnn_layers)
    one = CHRNN.from_preset("small_fashion_mnist", variant="c_hsrn", directions=["up_left"], **TINY)
    assert one.hrnn.rnn_layers[0].kernel.shape[0] == 1
    with pytest.raises(ValueError, match="Unknown variant"):
        CHRNN.from_preset("small_fashion_mnist", variant="c_hgru", **TINY)


@pytest.mark.parametrize("directions", [["down_right"], "all"])
def test_msrn_with_zero_recurrence_and_identity_input_is_spp_net(directions):
    """Sec. IV-A: W_hh = 0, W_xh = I turn C-MSRN into SPP-net (sum of D directions: D x)."""
    x = random_images((28, 28, 1), 4, seed=1)
    spp = CHRNN.from_preset("small_fashion_mnist", variant="spp_net", **TINY)
    msrn = CHRNN.from_preset("small_fashion_mnist", variant="c_msrn", directions=directions,
                             **TINY)
    for a, b in zip(spp.trunk.weights, msrn.trunk.weights):
        b.assign(a)
    d = len(msrn.directions)
    for rnn in msrn.hrnn.rnn_layers:
        rnn.kernel.assign(np.stack([np.eye(8, dtype="float32")] * d))
        rnn.row_kernel.assign(np.zeros(rnn.row_kernel.shape, "float32"))
        rnn.col_kernel.assign(np.zeros(rnn.col_kernel.shape, "float32"))
        rnn.bias.assign(np.zeros(rnn.bias.shape, "float32"))
    want = np.asarray(spp.features(x))
    assert want.shape == (4, (36 + 9 + 4 + 1) * 8) and want.max() > 0
    got = np.asarray(msrn.features(x))
    cells = 36 + 9 + 4
    np.testing.assert_allclose(got[:, : cells * 8], d * want[:, : cells * 8], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[:, cells * 8:], want[:, cells * 8:], rtol=1e-5)  # 1x1 passes


def test_paper_network_table_1():
    """224 px C-HLSTM: SPP-net conv1-5 maps, 9,830,400 HLSTM weights, fc7/fc8 4096 (build only)."""
    model = CHRNN.from_preset("c_hlstm")
    shapes = {l.name: tuple(l.output.shape[1:]) for l in model.trunk.layers}
    assert shapes["sppnet_s1_maxpool"] == (55, 55, 96)
    assert shapes["sppnet_s2_maxpool"] == (13, 13, 256)
    assert shapes["sppnet_s3_c3_relu"] == (13, 13, 256)
    assert _hrnn_matrices(model) == 9_830_400
    fc7, fc8 = model.fc
    assert tuple(fc7.kernel.shape) == ((36 + 9 + 4 + 1) * 256, 4096)
    assert tuple(fc8.kernel.shape) == (4096, 4096)
    assert model.dropout_rate == 0.5 and model.rnn_dropout_rate == 0.5
    assert [c.units for c in model.classifiers] == [20, 100]


def test_round_trips_and_savedmodel(tmp_path):
    """Config JSON, .keras, preset directory and SavedModel on the full {6,3,2,1} pyramid with
    two directions (the registry-wide test in test_models.py uses a smaller pyramid)."""
    model = CHRNN.from_preset("small_fashion_mnist", variant="c_hlstm",
                              directions=["up_right", "down_left"], **TINY)
    run_round_trips(model, tmp_path, random_images(model, 4))


def test_short_training_on_bundled_subset(bundled):
    keras.utils.set_random_seed(0)
    model = CHRNN.from_preset("small_fashion_mnist", backbone_kwargs={"widths": [16, 32, 32]},
                              fc_units=[128])
    assert model.variant == "c_hlstm"
    n, epochs = 3000, 2
    model.compile(total_steps=epochs * (n // 64))
    model.fit(bundled["x_train"][:n], bundled["y_train"][:n], batch_size=64, epochs=epochs,
              verbose=0)
    res = hk.metrics.evaluate_model(model, (bundled["x_test"], bundled["y_test"])).iloc[0]
    # A model that learns nothing scores 0.5 / 0.17-0.3 / 0.1.
    assert res["coarse_accuracy"] > 0.93
    assert res["fine_accuracy"] > 0.6
