"""`AlternatingTraining`: freeze the CNN and train the RNN, flip, ..., then train all.

Koo, Klabjan, Utke (2018), Sec. 4.1: "we alternate updating one while keeping
the other frozen in the beginning of training and then unfreeze the entire
network in the final phase", and "we unfreeze the RNN first" (its weights are
random while the CNN's are pretrained).
"""

from __future__ import annotations

import keras

from hier_keras.training.freezing import set_trainable

PHASES = ("rnn", "cnn", "all")


class AlternatingTraining(keras.callbacks.Callback):
    """Keras callback switching which part of a model trains, on a schedule.

    Koo et al. 2018, Sec. 4.1. The model names its parts with
    `model.layer_groups() -> {"cnn": [layers], "rnn": [layers]}` (`DHNN`
    does). Phase `"rnn"` trains only the RNN part (the CNN is frozen, its
    BatchNorm statistics too), `"cnn"` only the CNN, `"all"` everything. The
    last phase lasts until the end of training.

    Args:
        schedule: list of `(phase, length)` pairs, in order, e.g. the
            default `[("rnn", 1), ("cnn", 1), ("all", None)]`.
        unit: `"epoch"` or `"step"`: what a phase length counts. Defaults to
            `"epoch"`.
        verbose: print each switch. Defaults to 0.

    Attributes:
        history: list of `(epoch, step, phase)` switches made.

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> model = hk.models.DHNN.from_preset("small_rnn_fashion_mnist", backbone_kwargs={"widths": [4, 8, 8]},
    ...                                    input_dim=8, units=8, rnn_layers=1)
    >>> model.compile(total_steps=2)
    >>> cb = AlternatingTraining([("rnn", 1), ("all", None)])
    >>> x, y = np.zeros((2, 28, 28, 1)), np.array([[0, 0, 0], [1, 5, 9]])
    >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    >>> [phase for _, _, phase in cb.history]
    ['rnn', 'all']
    """

    def __init__(self, schedule=(("rnn", 1), ("cnn", 1), ("all", None)), unit="epoch",
                 verbose=0):
        super().__init__()
        self.schedule = [(str(p), None if n is None else int(n)) for p, n in schedule]
        if not self.schedule:
            raise ValueError("`schedule` is empty; give (phase, length) pairs.")
        for phase, n in self.schedule:
            if phase not in PHASES:
                raise ValueError(f"Unknown phase {phase!r} in `schedule`; use {PHASES}.")
            if n is not None and n < 1:
                raise ValueError(f"Phase lengths must be >= 1 (or None for 'until the end'); "
                                 f"received {n} for {phase!r}.")
        if unit not in ("epoch", "step"):
            raise ValueError(f"`unit` must be 'epoch' or 'step'; received {unit!r}.")
        self.unit = unit
        self.verbose = int(verbose)
        self.history = []
        self._count = 0
        self._phase = None
        self._epoch = 0

    def phase_at(self, count) -> str:
        """The phase after `count` epochs (or steps)."""
        done = 0
        for phase, n in self.schedule:
            if n is None or count < done + n:
                return phase
            done += n
        return "all"

    def _groups(self):
        if not hasattr(self.model, "layer_groups"):
            raise ValueError(
                f"AlternatingTraining needs a model with `layer_groups()` returning "
                f"{{'cnn': [...], 'rnn': [...]}} (DHNN has it); {type(self.model).__name__} "
                "does not.")
        return self.model.layer_groups()

    def on_train_begin(self, logs=None):
        groups = self._groups()
        set_trainable(groups["cnn"] + groups["rnn"], True)
        # Build the optimizer with every variable first, so a later phase can update them.
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self._count = 0
        self._switch(self.phase_at(0), 0)

    def _switch(self, phase, step):
        if phase == self._phase:
            return
        groups = self._groups()
        set_trainable(groups["cnn"], phase in ("cnn", "all"))
        set_trainable(groups["rnn"], phase in ("rnn", "all"))
        self._phase = phase
        self.history.append((self._epoch, step, phase))
        # The compiled train step captured the old trainable variables: retrace it.
        self.model.make_train_function(force=True)
        if self.verbose:
            print(f"AlternatingTraining: epoch {self._epoch}, step {step}: phase {phase!r}")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.unit == "epoch":
            self._switch(self.phase_at(epoch), self._count)

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "step":
            self._switch(self.phase_at(self._count), self._count)

    def on_train_batch_end(self, batch, logs=None):
        self._count += 1

    def on_train_end(self, logs=None):
        groups = self._groups()
        set_trainable(groups["cnn"] + groups["rnn"], True)
