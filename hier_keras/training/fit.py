"""`fit_model`: compile with the preset's schedule and train, resumable from checkpoints."""

from __future__ import annotations

import os

import keras

from hier_keras.training.callbacks import ResumablePlateau


def steps_in(dataset) -> int | None:
    """Number of batches in a finite tf.data dataset, else None."""
    try:
        import tensorflow as tf

        n = int(dataset.cardinality())
        return n if n >= 0 and n != int(tf.data.INFINITE_CARDINALITY) else None
    except (AttributeError, TypeError):
        return None


def fit_model(model, train_data, epochs, validation_data=None, checkpoint_dir=None,
              steps_per_epoch=None, verbose=1, callbacks=(), compile=True, compile_kwargs=None,
              **fit_kwargs):
    """Compile `model` with its preset's optimizer and decaying schedule, then `fit`.

    Args:
        model: a hier_keras model.
        train_data: tf.data of `(images, labels)`.
        epochs: number of epochs.
        validation_data: optional tf.data for per-epoch validation.
        checkpoint_dir: when given, a `keras.callbacks.BackupAndRestore`
            there: a killed run restarted with the same arguments resumes from
            its last epoch instead of starting over (with the state of any
            `ResumablePlateau` among `callbacks`).
        steps_per_epoch: optional number of batches per epoch; a finite
            `train_data` is then repeated, so every epoch has that many.
        compile: compile first (set False to keep your own compile()).
        compile_kwargs: more `compile()` arguments, e.g. `{"jit_compile": True}`
            (XLA) or `{"steps_per_execution": 8}`.

    Returns:
        The Keras `History`.

    Example:

    >>> import hier_keras as hk
    >>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist")
    >>> train, test = hk.data.load("fashion_mnist", batch_size=64, source="bundled")
    >>> h = fit_model(model, train.take(2), epochs=1, verbose=0)
    >>> sorted(h.history)[:2]
    ['coarse_accuracy', 'consistency']
    """
    steps_per_pass = steps_in(train_data)
    steps = steps_per_epoch or steps_per_pass
    if steps_per_epoch and steps_per_pass is not None:
        # Keras keeps one iterator across epochs: a finite pass would end epochs early.
        train_data = train_data.repeat()
    if compile:
        model.compile(total_steps=epochs * steps if steps else None, **(compile_kwargs or {}))
    callbacks = list(callbacks)
    if checkpoint_dir:
        # First in the list: an epoch's checkpoint is written before any other callback runs.
        callbacks.insert(0, keras.callbacks.BackupAndRestore(checkpoint_dir, save_freq="epoch",
                                                             delete_checkpoint=True))
        for cb in callbacks:
            if isinstance(cb, ResumablePlateau) and cb.state_path is None:
                cb.state_path = os.path.join(checkpoint_dir, "plateau_state.json")
    fit_kwargs.setdefault("shuffle", False)  # tf.data pipelines shuffle themselves
    return model.fit(train_data, epochs=epochs, validation_data=validation_data,
                     steps_per_epoch=steps_per_epoch, verbose=verbose, callbacks=callbacks,
                     **fit_kwargs)
