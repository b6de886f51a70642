"""`fine_tune`: train the heads on a frozen (pretrained) backbone, then everything at a lower rate.

The usual transfer recipe (Keras' transfer-learning guide; Yosinski et al.
2014): with the backbone frozen, its BatchNorm layers in inference mode, the
freshly initialised heads train for `head_epochs` at the preset's learning
rate and schedule; then the backbone is unfrozen and the whole model trains
for the remaining `epochs - head_epochs` at `backbone_lr_scale` times that
rate, so the pretrained features move slowly. Which layers are "the
backbone" is the model's `backbone_layers()`.

Resumable like `hier-keras train`: with `checkpoint_dir`, each phase keeps a
`BackupAndRestore` checkpoint in its own folder, and the end of the head phase
is recorded (the weights after it, written atomically), so a killed run
restarted with the same arguments goes on where it stopped.

Example:

>>> import hier_keras as hk
>>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist",
...                                      backbone_kwargs={"widths": [4, 8, 8]})
>>> train, _ = hk.data.load("fashion_mnist", batch_size=32, source="bundled")
>>> out = fine_tune(model, train.take(2), head_epochs=1, epochs=2, verbose=0)
>>> [phase for phase, _ in out]
['heads', 'all']
"""

from __future__ import annotations

import json
import os

from hier_keras.training.fit import fit_model
from hier_keras.training.freezing import set_trainable

HEAD_DONE = "head_phase.json"
HEAD_WEIGHTS = "head_phase.weights.h5"


def fine_tune(model, train_data, validation_data=None, head_epochs=1, epochs=5,
              backbone_lr_scale=0.1, checkpoint_dir=None, steps_per_epoch=None, verbose=1,
              callbacks=(), compile_kwargs=None):
    """Fine-tune `model` in two phases (see the module docstring).

    Args:
        model: a hier_keras model (any family) with a backbone.
        train_data: tf.data of `(images, labels)` batches.
        validation_data: optional tf.data for per-epoch validation.
        head_epochs: epochs with the backbone frozen (0 skips the phase).
        epochs: epochs in all, heads phase included.
        backbone_lr_scale: the rate of the second phase, as a fraction of
            the preset's (the whole model trains at the lower rate).
        checkpoint_dir: folder for resumable checkpoints (see above).
        steps_per_epoch, verbose, callbacks, compile_kwargs: as `fit_model`.

    Returns:
        `[("heads", History), ("all", History)]` for the phases that ran.

    Raises:
        ValueError: the model has no backbone, or the epochs do not add up.
    """
    head_epochs, epochs = int(head_epochs), int(epochs)
    if head_epochs < 0 or epochs < 1 or head_epochs > epochs:
        raise ValueError(f"Need 0 <= head_epochs <= epochs and epochs >= 1; received "
                         f"head_epochs={head_epochs}, epochs={epochs}.")
    if not 0 < float(backbone_lr_scale) <= 1:
        raise ValueError(f"`backbone_lr_scale` must be in (0, 1]; received {backbone_lr_scale}.")
    frozen = model.backbone_layers()
    if not frozen:
        raise ValueError(f"{type(model).__name__} names no backbone layers "
                         "(`backbone_layers()`), so there is nothing to freeze.")
    phases = []
    done = _head_phase_done(checkpoint_dir)
    if head_epochs and not done:
        set_trainable(frozen, False)
        try:
            history = fit_model(model, train_data, head_epochs, validation_data,
                                _phase_dir(checkpoint_dir, "heads"), steps_per_epoch, verbose,
                                callbacks, compile_kwargs=compile_kwargs)
        finally:
            set_trainable(frozen, True)
        phases.append(("heads", history))
        _record_head_phase(model, checkpoint_dir)
    elif head_epochs:
        model.load_weights(os.path.join(checkpoint_dir, HEAD_WEIGHTS))
    if epochs > head_epochs:
        config = dict(model.training_config)
        config["learning_rate"] = float(config.get("learning_rate") or _default_rate(model)) \
            * float(backbone_lr_scale)
        original = model.training_config
        model.training_config = config
        try:
            history = fit_model(model, train_data, epochs - head_epochs, validation_data,
                                _phase_dir(checkpoint_dir, "all"), steps_per_epoch, verbose,
                                callbacks, compile_kwargs=compile_kwargs)
        finally:
            model.training_config = original
        phases.append(("all", history))
    return phases


def joined_history(histories):
    """One History-like record (`epoch`, `history`) of consecutive `fit` runs (the phases)."""
    joined = type("History", (), {})()
    joined.epoch, joined.history = [], {}
    for h in histories:
        offset = len(joined.epoch)
        joined.epoch += [offset + int(e) for e in h.epoch]
        for key, values in h.history.items():
            joined.history.setdefault(key, []).extend(values)
    return joined


def _default_rate(model):
    from hier_keras.optimizers import TrainingConfig

    return TrainingConfig.from_dict(model.training_config).learning_rate


def _phase_dir(checkpoint_dir, phase):
    return None if checkpoint_dir is None else os.path.join(checkpoint_dir, phase)


def _head_phase_done(checkpoint_dir) -> bool:
    return checkpoint_dir is not None and os.path.exists(os.path.join(checkpoint_dir, HEAD_DONE))


def _record_head_phase(model, checkpoint_dir):
    if checkpoint_dir is None:
        return
    os.makedirs(checkpoint_dir, exist_ok=True)
    weights = os.path.join(checkpoint_dir, HEAD_WEIGHTS)
    tmp = weights[: -len(".weights.h5")] + ".tmp.weights.h5"
    model.save_weights(tmp)
    os.replace(tmp, weights)
    marker = os.path.join(checkpoint_dir, HEAD_DONE)
    with open(marker + ".tmp", "w") as f:
        json.dump({"phase": "heads", "weights": HEAD_WEIGHTS}, f)
    os.replace(marker + ".tmp", marker)
