"""Smoke tests of the GPU-scale benchmark script on the CPU: a few steps on mock data."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.parametrize("backbone, strategy, flags", [
    ("wrn28_10", "default", ["--jit", "--models", "cnn_rnn"]),
    ("wider_resnet", "mirrored", ["--mixed-precision"]),
])
def test_guo_table4_smoke(backbone, strategy, flags, tmp_path, monkeypatch):
    import common
    import guo_table4_cifar100
    import keras

    request_policy = keras.mixed_precision.global_policy().name

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(guo_table4_cifar100, "write_results", common.write_results)
    guo_table4_cifar100.main(["--backbone", backbone, "--mock", "--tiny", "--steps", "2",
                              "--batch-size", "4", "--strategy", strategy, *flags,
                              "--checkpoint-dir", str(tmp_path / "ckpt"), "--tag", "_smoke"])
    keras.mixed_precision.set_global_policy(request_policy)
    df = pd.read_csv(tmp_path / "guo_table4_cifar100_smoke.csv")
    want = ["cnn_rnn"] if "--models" in flags else ["coarse_specific", "fine_specific", "cnn_rnn"]
    assert df["model"].tolist() == want
    assert (df["steps"] == 2).all() and df["coarse_accuracy"].between(0, 1).all()
