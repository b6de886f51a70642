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


def test_minpoolnet_benchmark_smoke(tmp_path, monkeypatch):
    """benchmarks/minpoolnet.py end to end on the bundled subset: tables, gap, plot panels."""
    import common
    import minpoolnet

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(minpoolnet, "RESULTS", tmp_path)
    df = minpoolnet.main(["--source", "bundled", "--train-limit", "600", "--test-limit", "200",
                          "--steps", "2", "--batch-size", "16", "--seeds", "1",
                          "--settings", "10:50,10:90", "--methods", "baseline,minpoolnet,oracle",
                          "--lambdas", "1,2", "--lambda-setting", "10:50", "--cost-batch", "8",
                          "--export", "", "--tag", "smoke"])
    main = df[~df.method.str.startswith("lambda")]
    assert sorted(main.method.unique()) == ["baseline", "minpoolnet", "oracle"]
    assert set(df.method) >= {"lambda=1", "lambda=2"} and df.fine_accuracy.between(0, 1).all()
    assert (main[main.coarse_pct == 90].n_coarse == 540).all()
    text = (tmp_path / "minpoolnet_smoke.md").read_text()
    assert "| 10 | 90 | minpoolnet | 1 |" in text and "ratio" in text
    assert (tmp_path / "minpoolnet_smoke_gap.csv").exists()
    assert (tmp_path / "minpoolnet_smoke.png").stat().st_size > 0
    # One panel per sweep with two or more points; none for a single fixed setting.
    assert minpoolnet.plot_panels(main) == [("fine_pct", 10, "coarse_pct")]
