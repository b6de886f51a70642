"""`ResumablePlateau`: `ReduceLROnPlateau` whose state survives a killed and resumed run."""

from __future__ import annotations

import json
import os

import keras


class ResumablePlateau(keras.callbacks.ReduceLROnPlateau):
    """`keras.callbacks.ReduceLROnPlateau` that keeps its state in a JSON file.

    A resumed run (`keras.callbacks.BackupAndRestore`, as `fit_model` and
    `hier-keras train` use) restores the weights and optimizer of the last
    finished epoch, but a plain `ReduceLROnPlateau` starts over: its best
    value, wait and cooldown counters reset, and a reduction made after the
    epoch's checkpoint was written is lost. This callback writes
    `{best, wait, cooldown_counter, learning_rate}` to `state_path` after
    every epoch and reads it back when training begins. `fit_model` points
    `state_path` into its checkpoint directory (removed when the run ends).

    Args:
        state_path: JSON file for the state; `None` (default) keeps none,
            i.e. plain `ReduceLROnPlateau`.
        **kwargs: `ReduceLROnPlateau` arguments (`monitor`, `factor`,
            `patience`, `mode`, `min_delta`, `cooldown`, `min_lr`).

    Example:

    >>> import os, tempfile
    >>> cb = ResumablePlateau(monitor="val_loss", patience=0,
    ...                       state_path=os.path.join(tempfile.mkdtemp(), "plateau.json"))
    >>> cb.patience
    0
    """

    def __init__(self, state_path=None, **kwargs):
        super().__init__(**kwargs)
        self.state_path = state_path

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if not (self.state_path and os.path.exists(self.state_path)):
            return
        with open(self.state_path) as f:
            state = json.load(f)
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.model.optimizer.learning_rate = float(state["learning_rate"])

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if not self.state_path:
            return
        state = {"epoch": int(epoch), "best": float(self.best), "wait": int(self.wait),
                 "cooldown_counter": int(self.cooldown_counter),
                 "learning_rate": float(keras.ops.convert_to_numpy(
                     self.model.optimizer.learning_rate))}
        os.makedirs(os.path.dirname(os.path.abspath(self.state_path)), exist_ok=True)
        tmp = f"{self.state_path}.tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.state_path)  # never a half-written state file


def plateau_callback(model, **overrides) -> ResumablePlateau:
    """The `ResumablePlateau` a model's preset asks for (`model.plateau_settings`).

    Pass it to `fit` with validation data (`hier-keras train` does, on a
    held-out share of the training split). Under
    `fit_model(checkpoint_dir=...)` a resumed run keeps the reduced rate and
    the plateau counters.

    Example:

    >>> import hier_keras as hk
    >>> model = hk.models.MinPoolNet.from_preset("small_fashion_mnist")
    >>> cb = hk.training.plateau_callback(model, patience=2)
    >>> cb.monitor, cb.patience
    ('val_fine_accuracy', 2)
    """
    return ResumablePlateau(**{**model.plateau_settings, **overrides})
