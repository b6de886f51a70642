"""keras-tuner searches: a 2-trial random search through `hier-keras tune` on the bundled
subset, every family's HyperModel, objectives and bad input."""

import json

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest

import hier_keras as hk
from hier_keras import cli, tuning
from hier_keras.models.base import load_preset

# Chance on the bundled test split (balanced): 1/2 coarse, 1/10 fine. The search below
# (2 trials x 1 epoch on 2,000 images, tiny backbone) measured 84.5% coarse / 26.1% fine;
# the test asks for chance + 25 points (coarse) and chance + 10 points (fine).
COARSE_MIN, FINE_MIN = 0.75, 0.20

# What keeps each family tiny here (`tiny_overrides` plus narrowed sizes).
TINY_SPACE = {"CNNRNN": {"units": [16], "embedding_dim": [8]}, "CHRNN": {"units": [8]},
              "DHNN": {"input_dim": [8], "units": [8]}}


def test_cli_tune_two_trial_random_search_beats_chance(tmp_path, bundled, capsys):
    out = tmp_path / "tune"
    cli.main(["tune", "--family", "HierarchicalCNN", "--trials", "2", "--epochs", "1",
              "--source", "bundled", "--train-limit", "2000", "--val-size", "500",
              "--batch-sizes", "64,128", "--space", '{"learning_rate": {"min": 0.03, "max": 0.1}}',
              "--overrides", '{"backbone_kwargs": {"widths": [8, 16, 16]}}',
              "--output", str(out)])
    text = capsys.readouterr().out
    assert "2000 train / 500 validation images" in text and "Best hyperparameters" in text

    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and (trials["status"] == "COMPLETED").all()
    assert trials["val_fine_accuracy"].between(0, 1).all()
    assert set(trials["batch_size"]) <= {64, 128}
    assert trials["learning_rate"].between(0.03, 0.1).all()

    meta = json.loads((out / "best" / "metadata.json").read_text())
    hp = meta["hyperparameters"]
    assert {"head", "dropout", "learning_rate", "weight_decay", "batch_size"} <= set(hp)
    assert meta["objective"] == "val_fine_accuracy"
    assert set(meta["alpha"]) == {"coarse", "medium", "fine"}  # tuned after the search
    best_trial = trials.loc[trials["val_fine_accuracy"].idxmax()]
    assert hp["learning_rate"] == pytest.approx(best_trial["learning_rate"])
    if not meta["adapted"]:  # the saved model is the best trial's checkpoint as is
        assert meta["validation"]["fine_accuracy"] == pytest.approx(
            best_trial["val_fine_accuracy"], abs=1e-6)

    model = load_preset(out / "best")
    res = hk.metrics.evaluate_model(model, (bundled["x_test"], bundled["y_test"])).iloc[0]
    assert res["coarse_accuracy"] >= COARSE_MIN, res["coarse_accuracy"]
    assert res["fine_accuracy"] >= FINE_MIN, res["fine_accuracy"]
    assert res["fine_accuracy"] == pytest.approx(meta["metrics"]["fine_accuracy"], abs=1e-6)


@pytest.mark.parametrize("family", sorted(tuning.HYPERMODELS))
def test_every_family_hypermodel_trains_and_logs_its_objective(family, bundled):
    cls = tuning.family_class(family)
    hm = tuning.get_hypermodel(family, overrides=cls.tiny_overrides,
                               space=TINY_SPACE.get(family), batch_sizes=[16])
    hp = keras_tuner.HyperParameters()
    keras.utils.set_random_seed(0)
    model = hm.build(hp)
    assert isinstance(model, cls)
    own = set(hp.values) - {"learning_rate", "weight_decay"}
    assert own, f"{family} searches nothing of its own"
    for name in own:  # the sampled values reached the model's config
        assert model.get_config()[name] == hp.values[name], name
    hm.objective = tuning.objective_for(model.hierarchy)
    x, y = bundled["x_train"][:32], bundled["y_train"][:32]
    history = hm.fit(hp, model, x, y, validation_data=(x[:16], y[:16]), epochs=1,
                     steps_per_epoch=1)
    assert "val_fine_accuracy" in history.history and hp.values["batch_size"] == 16
    assert model.training_config["learning_rate"] == pytest.approx(hp.values["learning_rate"])
    assert float(model.optimizer.weight_decay) == pytest.approx(hp.values["weight_decay"])


def test_search_spaces_follow_the_papers():
    def values(family, **kw):
        hp = keras_tuner.HyperParameters()
        tuning.get_hypermodel(family, overrides=tuning.family_class(family).tiny_overrides,
                              **kw).model_space(hp)
        return {p.name: p for p in hp.space}

    assert values("CNNRNN")["units"].values == [128, 256, 512, 1000]
    assert 1000 in values("CNNRNN")["embedding_dim"].values
    assert values("MergedCNN")["topology"].values == ["merge-0", "merge-1", "merge-2", "merge-3"]
    assert 1.0 in values("MinPoolNet")["coarse_loss_weight"].values
    assert set(values("CHRNN")["variant"].values) == {"c_hlstm", "c_hsrn", "c_mlstm", "c_msrn"}
    assert set(values("DHNN")["converter"].values) == {"linear", "conv", "pool"}
    assert {256, 2048} <= set(values("DHNN")["input_dim"].values)
    assert {512, 1024} <= set(values("DHNN")["units"].values)
    hp = keras_tuner.HyperParameters()
    hm = tuning.get_hypermodel("MinPoolNet")
    hm.training_space(hp, {"optimizer": "sgd", "learning_rate": 0.01})
    lr = {p.name: p for p in hp.space}["learning_rate"]
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-3, 0.2, "log")


@pytest.mark.parametrize("converter", ["linear", "conv"])
def test_dhnn_converters_in_the_space_build(converter):
    hm = tuning.get_hypermodel("DHNN", overrides=tuning.family_class("DHNN").tiny_overrides,
                               space={"converter": [converter], "input_dim": [8], "units": [8]})
    model = hm.build(keras_tuner.HyperParameters())
    out = model(np.zeros((2, 28, 28, 1), "float32"))
    assert model.converter == converter and out["fine"].shape == (2, 10)


def test_objectives_name_logged_metrics_and_bad_input_is_refused():
    tree = hk.Hierarchy.fashion_mnist()
    assert tuning.objective_for(tree).name == "val_fine_accuracy"
    assert tuning.objective_for(tree, level=1).name == "val_medium_accuracy"
    assert tuning.objective_for(tree, "exact_match").direction == "max"
    with pytest.raises(ValueError, match="Unknown objective metric"):
        tuning.objective_for(tree, "f1")
    with pytest.raises(ValueError, match="tunable families"):
        tuning.get_hypermodel("NoSuchFamily")
    with pytest.raises(SystemExit, match="No HyperModel for family 'Nope'"):
        cli.main(["tune", "--family", "Nope", "--source", "bundled"])
    with pytest.raises(ValueError, match="Unknown preset"):
        tuning.get_hypermodel("CNNRNN", preset="nope")
    with pytest.raises(ValueError, match="not hyperparameters of CNNRNNHyperModel"):
        tuning.get_hypermodel("CNNRNN", space={"unitz": [8]}).build(keras_tuner.HyperParameters())
    # A MergedCNN that predicts only the fine level does not log a coarse accuracy.
    hm = tuning.get_hypermodel("MergedCNN", overrides={"levels": ["fine"],
                                                       **tuning.family_class("MergedCNN").tiny_overrides})
    hm.objective = tuning.objective_for(tree, level="coarse")
    model = hm.build(keras_tuner.HyperParameters())
    with pytest.raises(ValueError, match="'val_coarse_accuracy' is not a metric MergedCNN logs"):
        hm.fit(keras_tuner.HyperParameters(), model, np.zeros((4, 28, 28, 1)),
               np.zeros((4, 3), "int32"))
    with pytest.raises(ValueError, match="Unknown tuner"):
        tuning.make_tuner(hm, "grid")
