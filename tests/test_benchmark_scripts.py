"""Smoke tests of the benchmark harness and scripts on the CPU: a few steps on mock or bundled data."""

import json
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture
def results(tmp_path, monkeypatch):
    """Every result file of the harness goes to a temporary folder."""
    import harness

    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    return tmp_path


def test_time_interleaved_returns_medians_and_ratios():
    import harness

    calls = []
    timing = harness.time_interleaved(
        {"fast": lambda: calls.append("fast"), "slow": lambda: (calls.append("slow"),
                                                                time.sleep(0.01))},
        repeats=3, warmup=1, calls=2)
    # Warm-up of each, then rounds in which every candidate runs its calls in turn.
    assert calls[:2] == ["fast", "slow"] and calls[2:6] == ["fast", "fast", "slow", "slow"]
    assert len(calls) == 2 + 3 * 4
    assert timing.ratios["fast"] == 1.0 and timing.ratios["slow"] > 5
    assert timing.seconds["slow"] >= 0.01
    assert harness.time_interleaved({"a": lambda: None, "b": lambda: time.sleep(0.005)},
                                    repeats=1, baseline="b").ratios["b"] == 1.0


def test_time_interleaved_setup_is_not_timed():
    import harness

    timing = harness.time_interleaved({"x": lambda it: next(it)}, repeats=2, warmup=0,
                                      setup={"x": lambda: (time.sleep(0.02), iter([1]))[1]})
    assert timing.seconds["x"] < 0.01


def test_write_results_sidecar_and_read_result(results):
    import harness

    df = pd.DataFrame({"model": ["a", "b"], "seed": [0, 1], "acc": [0.125, float("nan")]})
    gap = pd.DataFrame({"method": ["a"], "gap_closed": [0.5]})
    command = harness.command_line(harness.__file__.replace("harness", "flat_baselines"),
                                   ["--tag", "_x y"])
    assert command == "python benchmarks/flat_baselines.py --tag '_x y'"
    harness.write_results("demo", df, harness.to_markdown(df), command, notes="Some notes.",
                          tables={"_gap": gap})
    assert {p.name for p in results.iterdir()} == {"demo.csv", "demo.md", "demo.json",
                                                    "demo_gap.csv", "demo_gap.json"}
    sidecar = json.loads((results / "demo.json").read_text())  # plain JSON: what notebooks read
    assert sidecar == harness.read_result("demo")
    assert sidecar["name"] == "demo" and sidecar["command"] == command
    assert sidecar["columns"] == ["model", "seed", "acc"]
    assert sidecar["rows"] == [["a", 0, 0.125], ["b", 1, None]]
    assert sidecar["date"] and "Some notes." in sidecar["notes"] and "| a | 0 |" in sidecar["notes"]
    back = pd.DataFrame(sidecar["rows"], columns=sidecar["columns"])
    pd.testing.assert_frame_equal(back, pd.read_csv(results / "demo.csv"))
    assert command in (results / "demo.md").read_text()
    companion = harness.read_result("demo_gap")
    assert companion["command"] == command and companion["rows"] == [["a", 0.5]]
    assert "demo.md" in companion["notes"]
    with pytest.raises(ValueError, match="command"):
        harness.write_results("demo", df, "", None)


def test_peak_memory_in_subprocess_is_positive():
    import harness

    # numpy.ones(...) is measured from just before the call: ~40 MB of pages it writes.
    growth = harness.peak_memory("numpy:ones", shape=5_000_000)
    assert 30 * 2**20 < growth < 200 * 2**20
    with pytest.raises(RuntimeError, match="no_such_module"):
        harness.peak_memory("no_such_module:f")


def test_train_and_evaluate_on_arrays_with_custom_compile():
    """A plain Keras model on arrays: seeded (same weights twice), compiled by the caller."""
    import keras
    import numpy as np

    import harness

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)).astype("float32"), rng.integers(0, 2, 40)
    compiled = []

    def compile_(model, total_steps):
        compiled.append(total_steps)
        model.compile("sgd", "sparse_categorical_crossentropy")

    def run():
        return harness.train_and_evaluate(
            lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, "softmax")]),
            ((x, y), None), seed=3, epochs=2, batch_size=16, compile=compile_,
            evaluate=lambda m: {"n_weights": len(m.get_weights())})

    (row, model), (_, again) = run(), run()
    assert compiled == [6, 6]  # 2 epochs x ceil(40 / 16) batches
    assert row["n_weights"] == 2 and row["train_seconds"] >= 0
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))


@pytest.mark.parametrize("backbone, strategy, flags", [
    ("wrn28_10", "default", ["--jit", "--models", "cnn_rnn"]),
    ("wider_resnet", "mirrored", ["--mixed-precision"]),
])
def test_guo_table4_smoke(backbone, strategy, flags, tmp_path, results):
    import guo_table4_cifar100
    import keras

    request_policy = keras.mixed_precision.global_policy().name
    argv = ["--backbone", backbone, "--mock", "--tiny", "--steps", "2", "--batch-size", "4",
            "--strategy", strategy, *flags, "--checkpoint-dir", str(tmp_path / "ckpt"),
            "--tag", "_smoke"]
    try:
        guo_table4_cifar100.main(argv)
    finally:
        keras.mixed_precision.set_global_policy(request_policy)
    df = pd.read_csv(results / "guo_table4_cifar100_smoke.csv")
    want = ["cnn_rnn"] if "--models" in flags else ["coarse_specific", "fine_specific", "cnn_rnn"]
    assert df["model"].tolist() == want
    assert (df["steps"] == 2).all() and df["coarse_accuracy"].between(0, 1).all()
    sidecar = json.loads((results / "guo_table4_cifar100_smoke.json").read_text())
    assert sidecar["command"] == "python benchmarks/guo_table4_cifar100.py " + " ".join(argv)
    assert [dict(zip(sidecar["columns"], r))["model"] for r in sidecar["rows"]] == want


def test_minpoolnet_benchmark_smoke(results):
    """benchmarks/minpoolnet.py end to end on the bundled subset: tables, gap, plot panels."""
    import minpoolnet

    df = minpoolnet.main(["--source", "bundled", "--train-limit", "600", "--test-limit", "200",
                          "--steps", "2", "--batch-size", "16", "--seeds", "1",
                          "--settings", "10:50,10:90", "--methods", "baseline,minpoolnet,oracle",
                          "--lambdas", "1,2", "--lambda-setting", "10:50", "--cost-batch", "8",
                          "--export", "", "--tag", "smoke"])
    main = df[~df.method.str.startswith("lambda")]
    assert sorted(main.method.unique()) == ["baseline", "minpoolnet", "oracle"]
    assert set(df.method) >= {"lambda=1", "lambda=2"} and df.fine_accuracy.between(0, 1).all()
    assert (main[main.coarse_pct == 90].n_coarse == 540).all()
    text = (results / "minpoolnet_smoke.md").read_text()
    assert "| 10 | 90 | minpoolnet | 1 |" in text and "ratio" in text
    assert (results / "minpoolnet_smoke_gap.csv").exists()
    gap = json.loads((results / "minpoolnet_smoke_gap.json").read_text())
    assert gap["command"].startswith("python benchmarks/minpoolnet.py --source bundled")
    assert (results / "minpoolnet_smoke.png").stat().st_size > 0
    # One panel per sweep with two or more points; none for a single fixed setting.
    assert minpoolnet.plot_panels(main) == [("fine_pct", 10, "coarse_pct")]


def test_flat_baselines_smoke(results):
    """A training script on the harness's seeded run: one model, two steps, bundled data."""
    import flat_baselines

    flat_baselines.main(["--source", "bundled", "--train-limit", "256", "--epochs", "1",
                         "--steps-per-epoch", "2", "--seeds", "1", "--models", "coarse_specific",
                         "--tag", "_smoke"])
    sidecar = json.loads((results / "flat_baselines_smoke.json").read_text())
    assert sidecar["columns"][:3] == ["model", "seed", "train_seconds"]
    (row,) = [dict(zip(sidecar["columns"], r)) for r in sidecar["rows"]]
    assert row["model"] == "coarse_specific" and 0 <= row["coarse_accuracy"] <= 1
    assert row["fine_accuracy"] is None  # NaN in the CSV: a coarse model predicts no fine level
    assert row["train_seconds"] >= 0 and "| coarse_specific | 1 |" in sidecar["notes"]


def test_transfer_benchmark_smoke(results, tmp_path):
    """benchmarks/transfer.py end to end on the bundled subset; a restart skips finished runs."""
    import transfer

    argv = ["--source", "bundled", "--train-limit", "300", "--test-limit", "100", "--steps", "5",
            "--pretrain-steps", "2", "--batch-size", "32", "--seeds", "1", "--fine-fractions",
            "0.2", "--methods", "fine_only,transfer,oracle,oracle_matched",
            "--cache-dir", str(tmp_path / "cache"), "--tag", "_smoke"]
    df = transfer.main(argv)
    assert df.method.tolist() == ["pretrain", "fine_only", "transfer", "oracle", "oracle_matched"]
    assert df.set_index("method").steps.to_dict()["oracle_matched"] == 5 + 2
    runs = df[df.method != "pretrain"]
    assert (runs.fine_pct == 20).all() and runs.fine_accuracy.between(0, 1).all()
    n_fine = runs.set_index("method").n_fine  # 20% of each class (bundled: not balanced)
    assert n_fine["oracle"] == n_fine["oracle_matched"] == 300
    assert set(n_fine.drop(transfer.PER_SEED)) == {n_fine["transfer"]} and (
        55 <= n_fine["transfer"] <= 65)
    acc, gap = (runs.set_index("method")[c] for c in ("fine_accuracy", "gap_closed"))
    if acc["oracle"] != acc["fine_only"]:  # the share of the fine-only-to-oracle gap closed
        assert gap["transfer"] == pytest.approx((acc["transfer"] - acc["fine_only"])
                                                / (acc["oracle"] - acc["fine_only"]))
    sidecar = json.loads((results / "transfer_smoke.json").read_text())
    assert sidecar["command"] == "python benchmarks/transfer.py " + " ".join(argv)
    assert "| 20 | transfer | 1 |" in sidecar["notes"]
    assert (results / "transfer_smoke.png").stat().st_size > 0
    # Resumed: every run is read back from the partial CSV, nothing is trained again.
    again = transfer.main(argv)
    pd.testing.assert_frame_equal(again, df)
