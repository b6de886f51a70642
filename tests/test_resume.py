"""A `hier-keras train` process killed (SIGKILL) in the middle of an epoch resumes from its
last finished epoch when started again with the same arguments, and the finished run has
trained every epoch exactly once (the in-process interruption case is in test_fit.py)."""

import json
import os
import signal
import subprocess
import sys
import time

EPOCHS, STEPS = 6, 20
TRAIN = [sys.executable, "-m", "hier_keras.cli", "train", "--family", "HierarchicalCNN",
         "--preset", "small_fashion_mnist", "--epochs", str(EPOCHS), "--steps-per-epoch",
         str(STEPS), "--batch-size", "32", "--source", "bundled", "--verbose", "0",
         "--overrides", json.dumps({"backbone_kwargs": {"widths": [4, 8, 8]}})]


def test_killed_training_process_resumes_with_epochs_counted_once(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    state = out / "checkpoint" / "training_metadata.json"
    proc = subprocess.Popen(TRAIN + ["--output", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    # Kill as soon as the second epoch's checkpoint is written: the process is then in
    # the third epoch (its steps or its validation pass).
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(state.read_text())["epoch"] >= 2:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    assert proc.poll() is None, f"training ended before it could be killed:\n{proc.stderr.read()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "preset").exists() and not (out / "history.json").exists()
    done = json.loads(state.read_text())["epoch"]  # epochs finished before the kill
    assert 2 <= done < EPOCHS

    resumed = subprocess.run(TRAIN + ["--output", str(out)], env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    assert history["epochs_this_run"] == list(range(done, EPOCHS))  # only the missing ones
    assert history["optimizer_iterations"] == EPOCHS * STEPS        # each epoch counted once
    assert len(history["history"]["loss"]) == EPOCHS - done
    assert not (out / "checkpoint").exists()  # removed once the run finished
    meta = json.loads((out / "preset" / "metadata.json").read_text())
    assert meta["epochs"] == EPOCHS
