"""Any Keras backbone in every family: functional models, keras.applications, KerasHub;
weights from local files; fine-tuning; round trips in a fresh process."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import hier_keras as hk
from hier_keras.backbones import Backbone, FunctionalBackbone, find_stages

FAMILIES = hk.models.list_families(with_presets=True)
SHAPE = (28, 28, 1)


def user_model(shape=SHAPE, widths=(4, 8, 8)):
    """A user's own small functional CNN: three conv stages (strides 1, 2, 2)."""
    inputs = keras.Input(shape)
    x = inputs
    for i, (w, s) in enumerate(zip(widths, (1, 2, 2))):
        x = keras.layers.Conv2D(w, 3, strides=s, padding="same", name=f"user_c{i}")(x)
        x = keras.layers.BatchNormalization(name=f"user_bn{i}")(x)
        x = keras.layers.ReLU(name=f"user_relu{i}")(x)
    return keras.Model(inputs, x, name="user_cnn")


def tiny_hub_resnet(shape=(32, 32, 3)):
    keras_hub = pytest.importorskip("keras_hub")
    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 8, 8],
        stackwise_num_blocks=[1, 1, 1], stackwise_num_strides=[1, 2, 2], block_type="basic_block",
        use_pre_activation=False, image_shape=shape)


def _preset(family):
    cls = hk.models.get_family(family)
    return "small_fashion_mnist" if "small_fashion_mnist" in cls.presets else sorted(
        p for p in cls.presets if p.endswith("fashion_mnist"))[0]


def _overrides(family):
    # The smallest heads of each family, so the test measures the backbone seam.
    return {"CHRNN": {"fc_units": [16, 16], "units": 8, "scales": [2, 1]},
            "DHNN": {"input_dim": 8, "units": 8, "rnn_layers": 1},
            "CNNRNN": {"units": 16, "embedding_dim": 8}}.get(family, {})


def _data(n=4, seed=0):
    tree = hk.Hierarchy.fashion_mnist()
    x = np.random.default_rng(seed).uniform(0, 255, (n,) + SHAPE).astype("float32")
    return x, tree.complete(np.arange(n) % 10)


# ------------------------------------------------------------------ the wrapper
def test_stages_are_found_at_each_resolution_and_named_ones_are_kept():
    model = user_model()
    assert find_stages(model) == ["user_relu0", "user_relu1", "user_relu2"]
    net = Backbone.from_model(model)
    assert [net.stage_shape(s)[1:] for s in net.stage_names] == [(28, 28, 4), (14, 14, 8),
                                                                 (7, 7, 8)]
    named = Backbone.from_model(model, stage_layers=["user_relu1", "user_relu2"])
    assert named.num_stages == 2 and named.num_features == 8
    with pytest.raises(ValueError, match="no layer 'nope'"):
        Backbone.from_model(model, stage_layers=["nope"])


def test_input_adaptation_gray_to_rgb_resize_and_preprocessing():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(2, 3, strides=2, name="c")(inputs)
    net = FunctionalBackbone(keras.Model(inputs, x), SHAPE, preprocessing="tf")
    names = [layer.name for layer in net.layers]
    assert any(n.endswith("_to_rgb") for n in names) and any(n.endswith("_resize") for n in names)
    assert net.normalization == "raw"  # the family feeds raw pixels
    out = net(np.full((1,) + SHAPE, 255.0, "float32"))
    assert tuple(out["stage_1"].shape) == (1, 15, 15, 2)
    with pytest.raises(ValueError, match="takes 3 channels"):
        FunctionalBackbone(keras.Model(inputs, x), (28, 28, 2))


@pytest.mark.parametrize("family", FAMILIES)
def test_user_functional_model_in_every_family(family, tmp_path):
    x, y = _data()
    cls = hk.models.get_family(family)
    model = cls.from_preset(_preset(family), backbone=user_model(), **_overrides(family))
    assert model.backbone_config["class_name"] == "FunctionalBackbone"
    model.compile(total_steps=1)
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    want = model.predict(x, verbose=0)
    model.save_to_preset(tmp_path / "p")
    again = cls.from_preset(str(tmp_path / "p"))
    for k in want:
        np.testing.assert_allclose(again.predict(x, verbose=0)[k], want[k], atol=1e-5)


def test_mergedcnn_splits_only_where_no_branch_crosses():
    inputs = keras.Input(SHAPE)
    a = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="a")(inputs)
    b = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="b")(a)
    skip = keras.layers.MaxPooling2D(2, name="skip")(a)       # bypasses stage 2's end ...
    c = keras.layers.Conv2D(4, 3, padding="same", name="c")(b)
    d = keras.layers.Add(name="d")([c, skip])                 # ... and joins after it
    e = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="e")(d)
    net = Backbone.from_model(keras.Model(inputs, e), stage_layers=["a", "b", "e"])
    assert 2 not in net.splittable_stages()
    assert {0, 1, 3} <= set(net.splittable_stages())
    with pytest.raises(ValueError, match=r"splits after stages \[0, 1, 3\]"):
        hk.models.MergedCNN.from_preset("small_fashion_mnist", backbone=net, topology="merge-2")
    model = hk.models.MergedCNN.from_preset("small_fashion_mnist", backbone=net,
                                            topology="merge-1")
    assert model.predict(_data()[0], verbose=0)["fine"].shape == (4, 10)


# ------------------------------------------------------------------ keras.applications / KerasHub
def test_keras_applications_by_name_and_the_offline_imagenet_error():
    model = hk.models.HierarchicalCNN.from_preset(
        "small_fashion_mnist", backbone="keras.applications.EfficientNetB0")
    assert model.backbone.architecture.startswith("efficientnet")
    assert model.predict(_data()[0], verbose=0)["fine"].shape == (4, 10)
    with pytest.raises(ValueError, match="no model 'NoSuchNet'"):
        hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                              backbone="keras.applications.NoSuchNet")
    with pytest.raises(ValueError, match="backbone_weights=PATH"):
        hk.models.HierarchicalCNN.from_preset(
            "small_fashion_mnist", backbone="keras.applications.MobileNetV3Small",
            backbone_weights="imagenet")


@pytest.mark.parametrize("family", FAMILIES)
def test_keras_hub_backbone_in_every_family(family):
    hub = tiny_hub_resnet()
    model = hk.models.get_family(family).from_preset(_preset(family), backbone=hub,
                                                     **_overrides(family))
    net = model.backbone_config["config"]
    assert net["stage_layers"] == ["stack0_block0_out", "stack1_block0_out",
                                   "stack2_block0_out"]  # its pyramid outputs
    x, y = _data()
    model.compile(total_steps=1)
    assert np.isfinite(model.fit(x, y, verbose=0).history["loss"][0])


def test_keras_hub_preset_directory_by_string(tmp_path):
    hub = tiny_hub_resnet()
    hub.save_to_preset(str(tmp_path / "hub"))
    model = hk.models.CNNRNN.from_preset("small_fashion_mnist",
                                         backbone=f"keras_hub:{tmp_path / 'hub'}", units=16)
    inner = model.backbone._source.model
    for a, b in zip(inner.weights, hub.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # the preset's weights
    plain = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                                  backbone=str(tmp_path / "hub"))
    assert plain.backbone_config["class_name"] == "FunctionalBackbone"
    # The preset's image converter (x / 255 - 0.5) becomes the model's mean / std.
    keras_hub = pytest.importorskip("keras_hub")
    keras_hub.layers.ResNetImageConverter(image_size=(32, 32), scale=1 / 255.0,
                                          offset=-0.5).save_to_preset(str(tmp_path / "hub"))
    converted = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                                      backbone=f"keras_hub:{tmp_path / 'hub'}")
    assert converted.mean == pytest.approx([127.5]) and converted.std == pytest.approx([255.0])


def test_without_keras_hub_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ImportError, match=r"hier_keras\[hub\]"):
        hk.models.CNNRNN.from_preset("small_fashion_mnist", backbone="keras_hub:resnet_18")


# ------------------------------------------------------------------ weights from files
@pytest.mark.parametrize("app, ours", [("ResNet50", "resnet50"), ("VGG16", "vgg16")])
def test_builtin_imagenet_backbones_load_keras_applications_weight_files(app, ours, tmp_path):
    ref = getattr(keras.applications, app)(weights=None, include_top=False,
                                           input_shape=(32, 32, 3))
    path = tmp_path / f"{app}_notop.h5"  # by layer name, as keras.applications ships them
    hk.backbones.save_weights_by_name(ref, path)
    net = Backbone(ours, (32, 32, 3))
    hk.backbones.load_backbone_weights(net, path)
    x = np.random.default_rng(0).normal(0, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(net(x)["features"]),
                               np.asarray(ref(x)).mean(axis=(1, 2)), atol=1e-5)


def test_weights_file_errors_name_the_layer_and_the_file(tmp_path):
    small = Backbone("small", SHAPE, {"widths": [4, 8, 8]})
    path = tmp_path / "small.h5"
    hk.backbones.save_weights_by_name(small, path)
    wider = Backbone("small", SHAPE, {"widths": [4, 8, 16]})
    with pytest.raises(ValueError, match=r"Layer 's3_c1_conv' does not fit the weights in .*small\.h5"):
        hk.backbones.load_backbone_weights(wider, path)
    with pytest.raises(ValueError, match="does not exist"):
        hk.backbones.load_backbone_weights(small, tmp_path / "missing.h5")
    app = user_model()
    structured = tmp_path / "user.weights.h5"
    app.save_weights(structured)
    model = hk.models.CNNRNN.from_preset("small_fashion_mnist", backbone=user_model(),
                                         backbone_weights=str(structured))
    for a, b in zip(model.backbone._source.model.weights, app.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "backbone_weights" not in model.get_config()  # the weights file holds them


# ------------------------------------------------------------------ fine-tuning
def test_fine_tune_freezes_then_unfreezes_the_backbone(tmp_path):
    x, y = _data(8)
    ds = hk.data.from_arrays(x, y, hk.Hierarchy.fashion_mnist(), batch_size=4)
    model = hk.models.CNNRNN.from_preset("small_fashion_mnist",
                                         backbone_kwargs={"widths": [4, 8, 8]})
    before = [w.numpy().copy() for w in model.backbone.weights]
    head_before = model.classifier.kernel.numpy().copy()
    phases = hk.training.fine_tune(model, ds, head_epochs=1, epochs=1, verbose=0)
    assert [p for p, _ in phases] == ["heads"]
    for a, b in zip(before, model.backbone.weights):
        np.testing.assert_array_equal(a, b.numpy())       # frozen: BN statistics too
    assert not np.allclose(head_before, model.classifier.kernel.numpy())
    assert model.backbone.trainable                        # unfrozen afterwards
    phases = hk.training.fine_tune(model, ds, head_epochs=0, epochs=1, verbose=0,
                                   checkpoint_dir=str(tmp_path / "ck"))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, model.backbone.weights))
    with pytest.raises(ValueError, match="head_epochs <= epochs"):
        hk.training.fine_tune(model, ds, head_epochs=3, epochs=2)


def test_fine_tune_resumes_after_the_head_phase(tmp_path):
    x, y = _data(8)
    ds = hk.data.from_arrays(x, y, hk.Hierarchy.fashion_mnist(), batch_size=4)
    tiny = {"backbone_kwargs": {"widths": [4, 8, 8]}}
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **tiny)
    ck = str(tmp_path / "ck")
    hk.training.fine_tune(model, ds, head_epochs=1, epochs=1, checkpoint_dir=ck, verbose=0)
    assert os.path.exists(os.path.join(ck, "head_phase.json"))
    fresh = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **tiny)
    phases = hk.training.fine_tune(fresh, ds, head_epochs=1, epochs=1, checkpoint_dir=ck,
                                   verbose=0)
    assert phases == []  # the head phase is not trained twice ...
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # ... its weights come back


# ------------------------------------------------------------------ fresh process
LOAD_SCRIPT = textwrap.dedent("""
    import json, sys, numpy as np, keras, tensorflow as tf
    import hier_keras as hk
    d, x_path = sys.argv[1], sys.argv[2]
    x = np.load(x_path)
    out = {}
    model = hk.models.load_preset(d + "/preset")
    out["preset"] = {k: v.tolist() for k, v in model.predict(x, verbose=0).items()}
    model = keras.saving.load_model(d + "/model.keras")
    out["keras"] = {k: np.asarray(v).tolist() for k, v in model.predict(x, verbose=0).items()}
    served = tf.saved_model.load(d + "/saved_model")
    out["saved_model"] = {k: np.asarray(v).tolist()
                          for k, v in served.serve(tf.constant(x)).items()}
    print("RESULT" + json.dumps(out))
""")


@pytest.mark.parametrize("family", FAMILIES)
def test_external_backbone_round_trips_in_a_fresh_process(family, tmp_path):
    x, _ = _data()
    backbone = tiny_hub_resnet() if family == "CNNRNN" else user_model()
    model = hk.models.get_family(family).from_preset(_preset(family), backbone=backbone,
                                                     **_overrides(family))
    want = model.predict(x, verbose=0)
    model.save_to_preset(tmp_path / "preset")
    model.save(tmp_path / "model.keras")
    model.export(str(tmp_path / "saved_model"))
    np.save(tmp_path / "x.npy", x)
    run = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(tmp_path),
                          str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.split("RESULT", 1)[1])
    for how, outputs in got.items():
        for k in want:
            np.testing.assert_allclose(np.asarray(outputs[k]), want[k], atol=1e-5, err_msg=how)


# ------------------------------------------------------------------ transfer, offline
@pytest.mark.slow
def test_pretrained_backbone_from_a_file_beats_training_from_scratch(bundled, tmp_path):
    """Pretrain flat on 8,000 images, fine-tune a CNN-RNN on 300 others: it must beat the
    same CNN-RNN trained from scratch on those 300 at equal steps (72) by >= 6 points of
    fine accuracy (measured here: 75.2 vs 64.5). A backbone whose weights did not load
    would train like the scratch one."""
    tree = hk.Hierarchy.fashion_mnist()
    x, y = bundled["x_train"], bundled["y_train"]
    order = np.random.default_rng(0).permutation(len(x))
    pre, few = order[:8000], order[8000:8300]
    test = (bundled["x_test"], bundled["y_test"])
    keras.utils.set_random_seed(0)
    flat = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", head="single")
    hk.training.fit_model(flat, hk.data.from_arrays(x[pre], y[pre], tree, batch_size=128,
                                                    shuffle=True, seed=0), epochs=2, verbose=0)
    weights = tmp_path / "small_pretrained.h5"
    hk.backbones.save_weights_by_name(flat.backbone, weights)

    def fine_accuracy(backbone_weights):
        keras.utils.set_random_seed(1)
        model = hk.models.CNNRNN.from_preset("small_fashion_mnist",
                                             backbone_weights=backbone_weights)
        ds = hk.data.from_arrays(x[few], y[few], tree, batch_size=50, shuffle=True, seed=1)
        hk.training.fine_tune(model, ds, head_epochs=6 if backbone_weights else 0, epochs=12,
                              backbone_lr_scale=0.3 if backbone_weights else 1.0, verbose=0)
        return float(hk.metrics.evaluate_model(model, test)["fine_accuracy"].iloc[0])

    pretrained, scratch = fine_accuracy(str(weights)), fine_accuracy(None)
    assert pretrained >= scratch + 0.06, (pretrained, scratch)


def test_cli_trains_on_a_backbone_from_a_weights_file_and_predicts(tmp_path, capsys):
    import tensorflow as tf

    from hier_keras import cli

    net = Backbone("small", SHAPE, {"widths": [4, 8, 8]})
    weights = tmp_path / "small.h5"
    hk.backbones.save_weights_by_name(net, weights)
    out = tmp_path / "run"
    cli.main(["train", "--family", "CNNRNN", "--preset", "small_fashion_mnist", "--epochs", "2",
              "--steps-per-epoch", "2", "--source", "bundled", "--output", str(out),
              "--overrides", json.dumps({"backbone_kwargs": {"widths": [4, 8, 8]}}),
              "--backbone-weights", str(weights), "--freeze-epochs", "1", "--verbose", "0"])
    assert "Saved preset" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    assert len(history["history"]["loss"]) == 2  # the frozen epoch, then the unfrozen one
    img = tmp_path / "x.png"
    tf.io.write_file(str(img), tf.io.encode_png(np.zeros((28, 28, 1), np.uint8)))
    cli.main(["predict", str(out / "preset"), str(img)])
    assert capsys.readouterr().out.strip().count(">") == 2
    hub = tiny_hub_resnet()
    hub.save_to_preset(str(tmp_path / "hub"))
    cli.main(["train", "--family", "HierarchicalCNN", "--epochs", "1", "--steps-per-epoch", "2",
              "--source", "bundled", "--output", str(tmp_path / "hubrun"), "--verbose", "0",
              "--backbone", f"keras_hub:{tmp_path / 'hub'}"])
    cli.main(["evaluate", str(tmp_path / "hubrun" / "preset"), "--source", "bundled"])
    cli.main(["predict", str(tmp_path / "hubrun" / "preset"), str(img)])
    assert capsys.readouterr().out.strip().splitlines()[-1].count(">") == 2
    with pytest.raises(SystemExit, match="leaves no epoch"):
        cli.main(["train", "--family", "CNNRNN", "--epochs", "1", "--freeze-epochs", "1",
                  "--source", "bundled", "--output", str(tmp_path / "bad"), "--verbose", "0"])


def test_readme_backbone_examples_run_as_written():
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Your own backbone", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


@pytest.mark.slow
@pytest.mark.parametrize("app", ["MobileNetV3Small", "EfficientNetB0"])
@pytest.mark.parametrize("family", FAMILIES)
def test_keras_applications_models_in_every_family(family, app, tmp_path):
    x, y = _data()
    backbone = getattr(keras.applications, app)(weights=None, include_top=False,
                                                input_shape=(32, 32, 3))
    overrides = dict(_overrides(family))
    if family == "MergedCNN":
        overrides["topology"] = "merge-2"  # one copy of the later stages per level
    cls = hk.models.get_family(family)
    model = cls.from_preset(_preset(family), backbone=backbone, **overrides)
    assert model.mean == [0.0] and model.std == [1.0]  # its own Rescaling normalises
    ds = hk.data.from_arrays(x, y, hk.Hierarchy.fashion_mnist(), batch_size=4)
    frozen = [w.numpy().copy() for layer in model.backbone_layers() for w in layer.weights]
    hk.training.fine_tune(model, ds, head_epochs=1, epochs=1, verbose=0)
    after = [w.numpy() for layer in model.backbone_layers() for w in layer.weights]
    assert all(np.array_equal(a, b) for a, b in zip(frozen, after))
    want = model.predict(x, verbose=0)
    model.save_to_preset(tmp_path / "p")
    got = cls.from_preset(str(tmp_path / "p")).predict(x, verbose=0)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=1e-5)


def test_ensemble_of_models_on_external_backbones_round_trips(tmp_path):
    x, _ = _data()
    a = hk.models.CNNRNN.from_preset("small_fashion_mnist", backbone=user_model(), units=16)
    b = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", backbone=tiny_hub_resnet())
    ensemble = hk.models.Ensemble([a, b], adaptation_alpha=1.0)
    want = ensemble.predict(x, verbose=0)
    ensemble.save_to_preset(tmp_path / "ens")
    got = hk.models.Ensemble.from_preset(str(tmp_path / "ens")).predict(x, verbose=0)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=1e-5)
