"""fit_model: the preset's decaying schedule, and resuming a killed run from its checkpoint."""

import keras
import pytest
from helpers import random_images, random_leaf_paths

import hier_keras as hk
from hier_keras.models import HierarchicalModel


class _Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill after epoch 2")


def _data(model, n=64):
    return hk.data.from_arrays(random_images(model, n), random_leaf_paths(model, n),
                               model.hierarchy, batch_size=16)


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


def test_resumed_run_keeps_the_plateau_schedule_state(tmp_path):
    """A run killed after the plateau callback lowered the rate resumes at the lowered rate,
    with the callback's counters, exactly as the uninterrupted run goes on."""
    training = {"optimizer": "sgd", "learning_rate": 0.1, "schedule": {"type": "constant"},
                "reduce_lr_on_plateau": {"monitor": "loss", "mode": "min", "factor": 0.5,
                                         "patience": 0, "min_delta": 100.0}}

    def build():
        keras.utils.set_random_seed(0)
        return hk.models.HierarchicalCNN.from_preset(
            "small_fashion_mnist", training_config=training, **HierarchicalModel.tiny_overrides)

    model = build()
    ds = _data(model)
    # min_delta 100: every epoch after the first is a plateau, so the rate halves after each.
    whole = hk.training.fit_model(model, ds, epochs=4, verbose=0,
                                  callbacks=[hk.training.plateau_callback(model)])
    assert whole.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    model = build()
    with pytest.raises(KeyboardInterrupt):  # killed after epoch 2, its reduction made
        hk.training.fit_model(model, ds, epochs=4, checkpoint_dir=str(tmp_path), verbose=0,
                              callbacks=[hk.training.plateau_callback(model), _Crash()])
    assert (tmp_path / "plateau_state.json").exists()
    fresh = build()
    resumed = hk.training.fit_model(fresh, ds, epochs=4, checkpoint_dir=str(tmp_path),
                                    verbose=0, callbacks=[hk.training.plateau_callback(fresh)])
    assert resumed.epoch == [2, 3]
    assert resumed.history["learning_rate"] == pytest.approx([0.05, 0.025])
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # state removed at the end


def test_steps_per_epoch_repeats_a_finite_dataset():
    """Every epoch gets `steps_per_epoch` batches even when that is more than one pass."""
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                                  **HierarchicalModel.tiny_overrides)
    hk.training.fit_model(model, _data(model), epochs=3, steps_per_epoch=6, verbose=0)
    assert int(model.optimizer.iterations) == 3 * 6  # 64 images = 4 batches per pass


def test_schedule_decays_to_zero():
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    hk.training.fit_model(model, _data(model), epochs=2, verbose=0)
    lr = model.optimizer.learning_rate
    assert float(lr) < 1e-6  # cosine schedule reached its end
