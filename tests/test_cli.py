"""The `hier-keras` command line, end to end on the bundled subset (tiny budget)."""

import json
import re

import numpy as np
import pytest

import hier_keras as hk
from hier_keras import cli


def test_train_evaluate_predict_export_presets(tmp_path, capsys):
    import tensorflow as tf

    out = tmp_path / "run"
    tiny = json.dumps({"backbone_kwargs": {"widths": [4, 8, 8]}})
    cli.main(["train", "--family", "CNNRNN", "--preset", "small_fashion_mnist", "--epochs", "1",
              "--steps-per-epoch", "3", "--source", "bundled", "--output", str(out),
              "--overrides", tiny, "--verbose", "0"])
    text = capsys.readouterr().out
    assert "Data: fashion_mnist from bundled (10000 train / 2000 test images)" in text
    assert "fine_accuracy" in text and "Saved preset" in text
    meta = json.loads((out / "preset" / "metadata.json").read_text())
    assert meta["dataset"] == "fashion_mnist" and "fine_accuracy" in meta["metrics"]
    assert meta["command"].startswith("hier-keras") or meta["command"] == ""

    cli.main(["evaluate", str(out / "preset"), "--source", "bundled", "--csv", str(tmp_path / "r.csv")])
    assert "exact_match" in capsys.readouterr().out
    assert (tmp_path / "r.csv").exists()

    img = tmp_path / "shoe.png"
    tf.io.write_file(str(img), tf.io.encode_png(np.zeros((28, 28, 1), np.uint8)))
    cli.main(["predict", str(out / "preset"), str(img)])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{img}:") and line.count(">") == 2

    cli.main(["predict", str(out / "preset"), str(img), "--family", "cnnrnn"])  # from_preset
    assert capsys.readouterr().out.strip() == line
    with pytest.raises(SystemExit, match="holds a CNNRNN, not a MinPoolNet"):
        cli.main(["predict", str(out / "preset"), str(img), "--family", "MinPoolNet"])

    cli.main(["export", str(out / "preset"), str(tmp_path / "served")])
    assert (tmp_path / "served" / "saved_model.pb").exists()

    cli.main(["presets"])
    listing = capsys.readouterr().out
    assert "CNNRNN:" in listing and "wrn28_10" in listing
    rows = hk.presets.list_presets()
    families = [line[:-1] for line in listing.splitlines() if line.endswith(":")
                and not line.startswith(" ") and line != "zoo (trained):"]
    assert families == sorted({r["family"] for r in rows if r["kind"] == "architecture"})
    for row in rows:
        assert f"  {row['name']:<32} {row['description']}" in listing, row
    if any(r["kind"] == "zoo" for r in rows):
        assert "zoo (trained):" in listing and "mergedcnn_small_fashion_mnist" in listing


def test_cli_errors(tmp_path):
    # An unknown family: the registry's message, with the closest name, on one line.
    with pytest.raises(SystemExit, match="Unknown family 'CNNRN'. Did you mean 'CNNRNN'") as err:
        cli.main(["train", "--family", "CNNRN", "--source", "bundled", "--output", str(tmp_path)])
    assert "\n" not in str(err.value)
    with pytest.raises(SystemExit, match="Unknown family 'Nope'"):
        cli.main(["evaluate", "small_fashion_mnist", "--family", "Nope"])
    with pytest.raises(SystemExit, match="neither a preset directory nor a zoo entry"):
        cli.main(["evaluate", "no_such_preset"])
    with pytest.raises(SystemExit, match="Unknown preset identifier 'no_such_preset' for CNNRNN"):
        cli.main(["export", "no_such_preset", str(tmp_path / "x"), "--family", "CNNRNN"])


def test_zoo_entry_loads_without_family_and_built_in_preset_with_it(monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("HIER_KERAS_ZOO", str(Path(__file__).resolve().parents[1] / "zoo"))
    entry = "cnnrnn_small_fashion_mnist"
    assert entry in hk.presets.zoo_entries()
    model = cli._load(entry)
    assert type(model) is hk.models.CNNRNN and model.backbone_name == "small"
    built = cli._load("small_fashion_mnist", "CNNRNN")
    assert type(built) is hk.models.CNNRNN


def test_train_with_partial_labels_and_plateau_schedule(tmp_path, capsys):
    """--fine-fraction hides fine labels, ratio batches train, the plateau schedule watches a
    held-out validation share (not the test split) and reduces the learning rate."""
    out = tmp_path / "run"
    training = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
                "schedule": {"type": "constant"}, "batch_size": 64, "augment": False,
                "reduce_lr_on_plateau": {"monitor": "val_fine_accuracy", "mode": "max",
                                         "factor": 0.5, "patience": 0, "min_delta": 1.0}}
    overrides = json.dumps({"backbone_kwargs": {"widths": [4, 8, 8]},
                            "training_config": training})
    cli.main(["train", "--family", "MinPoolNet", "--preset", "small_fashion_mnist",
              "--epochs", "3", "--steps-per-epoch", "2", "--source", "bundled",
              "--fine-fraction", "0.2", "--coarse-fraction", "0.5", "--output", str(out),
              "--overrides", overrides, "--verbose", "0"])
    text = capsys.readouterr().out
    # 10% of the 10,000 bundled images are held out; then 20% / 50% of each class.
    assert "Validation: 10% of the training split held out (watched by" in text
    n_fine, n_coarse = map(int, re.search(
        r"Partial labels: (\d+) fine-labelled \+ (\d+) coarse-only", text).groups())
    assert abs(n_fine - 1800) <= 10 and abs(n_coarse - 4500) <= 10  # per-class rounding
    assert f"({n_fine + n_coarse} train / 2000 test images)" in text
    meta = json.loads((out / "preset" / "metadata.json").read_text())
    assert (meta["label_fractions"]["n_fine"], meta["label_fractions"]["n_coarse"]) == (
        n_fine, n_coarse)
    assert meta["split"] == "test" and "fine_accuracy" in meta["metrics"]
    history = json.loads((out / "history.json").read_text())["history"]
    assert "val_fine_accuracy" in history
    # min_delta 1.0 makes every epoch after the first a plateau: the rate halves after each.
    assert history["learning_rate"] == pytest.approx([0.05, 0.05, 0.025])


@pytest.mark.parametrize("flags, message", [
    (["--fine-fraction", "0.8", "--coarse-fraction", "0.5"], "sum to at most 1"),
    (["--fine-fraction", "-0.1"], "must lie in"),
    (["--fine-fraction", "nan"], "must lie in"),
    (["--fine-fraction", "0"], "no fine-labelled image"),
    (["--coarse-fraction", "0.5"], "needs --fine-fraction"),
    (["--val-size", "-1"], "--val-size must be"),
    (["--val-size", "0", "--overrides", json.dumps({"training_config": {
        "reduce_lr_on_plateau": {"monitor": "val_fine_accuracy"}}})], "test split steer training"),
])
def test_train_rejects_bad_label_arguments_before_loading_data(flags, message, tmp_path,
                                                               monkeypatch):
    import hier_keras as hk

    def no_loading(*args, **kwargs):
        raise AssertionError("data loaded before the arguments were checked")

    monkeypatch.setattr(hk.data, "load", no_loading)
    monkeypatch.setattr(hk.data, "load_arrays", no_loading)
    with pytest.raises(SystemExit, match=message):
        cli.main(["train", "--family", "MinPoolNet", "--preset", "small_fashion_mnist",
                  "--source", "bundled", *flags, "--output", str(tmp_path)])


def test_user_errors_are_one_line_on_stderr_and_debug_shows_the_traceback(tmp_path, capsys):
    for argv, message in [
        (["train", "--epochs", "0"], "--epochs must be >= 1"),
        (["train", "--family", "CNNRNN", "--preset", "small_fashion_mnst"],
         "Did you mean 'small_fashion_mnist'?"),
        (["train", "--family", "CNNRNN", "--overrides", "{not json", "--source", "bundled",
          "--output", str(tmp_path / "r")], "Expecting property name"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        err = capsys.readouterr().err + str(exit_info.value.code)
        assert message in err, (argv, err)
        assert exit_info.value.code != 0
        assert "Traceback" not in err
    with pytest.raises(ValueError):  # --debug: the exception itself, with its traceback
        cli.main(["--debug", "train", "--family", "CNNRNN", "--overrides", "{not json",
                  "--source", "bundled", "--output", str(tmp_path / "r")])
