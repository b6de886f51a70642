"""fit_model: the preset's decaying schedule, and resuming a killed run from its checkpoint."""

import keras
import numpy as np
import pytest

import hier_keras as hk
from hier_keras.models import HierarchicalModel


class _Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill after epoch 2")


def _data(model, n=64):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (n,) + model.image_shape).astype("float32")
    y = model.hierarchy.leaf_paths()[rng.integers(0, 10, n)]
    return hk.data.from_arrays(x, y, model.hierarchy, batch_size=16)


def test_resume_after_kill_counts_epochs_once(tmp_path):
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    ds = _data(model)
    with pytest.raises(KeyboardInterrupt):
        hk.training.fit_model(model, ds, epochs=4, checkpoint_dir=str(tmp_path), verbose=0,
                              callbacks=[_Crash()])
    step_after_kill = int(model.optimizer.iterations)
    fresh = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    history = hk.training.fit_model(fresh, ds, epochs=4, checkpoint_dir=str(tmp_path), verbose=0)
    assert step_after_kill == 2 * 4
    assert len(history.epoch) == 2 and history.epoch == [2, 3]  # epochs 3 and 4 only
    assert int(fresh.optimizer.iterations) == 4 * 4


def test_schedule_decays_to_zero():
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    hk.training.fit_model(model, _data(model), epochs=2, verbose=0)
    lr = model.optimizer.learning_rate
    assert float(lr) < 1e-6  # cosine schedule reached its end
