"""The `hier-keras` command line, end to end on the bundled subset (tiny budget)."""

import json

import numpy as np
import pytest

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

    cli.main(["export", str(out / "preset"), str(tmp_path / "served")])
    assert (tmp_path / "served" / "saved_model.pb").exists()

    cli.main(["presets"])
    listing = capsys.readouterr().out
    assert "CNNRNN:" in listing and "wrn28_10" in listing


def test_cli_errors(tmp_path):
    with pytest.raises(SystemExit, match="Unknown family"):
        cli.main(["train", "--family", "Nope", "--source", "bundled", "--output", str(tmp_path)])
    with pytest.raises(SystemExit, match="neither a preset directory nor a zoo entry"):
        cli.main(["evaluate", "no_such_preset"])
