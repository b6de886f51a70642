"""The search: keras-tuner tuners for a `HierarchicalHyperModel`, and `tune()`.

`tune()` runs a random, Bayesian or Hyperband search, then tunes classifier
adaptation (Dutt et al. 2017) on the same validation split: alpha is swept per
level with `hier_keras.training.adaptation.tune_alpha` and kept only when it
improves the objective on that split.

Example:

>>> hm = get_hypermodel("CNNRNN")
>>> tuner = make_tuner(hm, "random", max_trials=1, directory=__import__("tempfile").mkdtemp())
>>> type(tuner).__name__, tuner.oracle.objective.name
('RandomSearch', 'val_fine_accuracy')
"""

from __future__ import annotations

import dataclasses
import math

import keras
import keras_tuner
import numpy as np

from hier_keras.metrics import evaluate_model
from hier_keras.models.adaptation import bake_alpha
from hier_keras.training.adaptation import tune_alpha
from hier_keras.tuning.hypermodel import get_hypermodel, objective_for

TUNERS = ("random", "bayesian", "hyperband")


@dataclasses.dataclass
class TuneResult:
    """What `tune` returns.

    Attributes:
        model: the best trial's model (with the tuned classifier adaptation when it
            helped: then an adapted model, see `hier_keras.models.adaptation.bake_alpha`).
        hyperparameters: `{name: value}` of the best trial.
        trials: DataFrame, one row per trial: its values and objective score.
        objective: the objective's name.
        validation: one-row DataFrame of the best model on the validation split
            (before adaptation).
        alpha: the `AlphaSearch` (or None when not tuned).
        adapted: whether the returned model applies the tuned alpha.
        validation_adapted: the validation metrics with the tuned alpha (or None).
        tuner: the keras-tuner `Tuner`.
    """

    model: object
    hyperparameters: dict
    trials: object
    objective: str
    validation: object
    alpha: object = None
    adapted: bool = False
    validation_adapted: object = None
    tuner: object = None


class _TensorBoardOptional:
    """keras-tuner 1.4 imports `tensorboard` before every trial on the TensorFlow backend,
    even with no `TensorBoard` callback, and TensorFlow 2.21 no longer installs it: the
    import is only attempted when a `TensorBoard` callback is actually used."""

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if any(type(c).__name__ == "TensorBoard" for c in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


class RandomSearch(_TensorBoardOptional, keras_tuner.RandomSearch):
    """`keras_tuner.RandomSearch` that needs `tensorboard` only with a TensorBoard callback."""


class BayesianOptimization(_TensorBoardOptional, keras_tuner.BayesianOptimization):
    """`keras_tuner.BayesianOptimization`, tensorboard optional (see `RandomSearch`)."""


class Hyperband(_TensorBoardOptional, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband`, tensorboard optional (see `RandomSearch`)."""


def make_tuner(hypermodel, kind="random", objective=None, max_trials=10, epochs=1, seed=0,
               directory="runs/tune", project_name=None, overwrite=True, distribution_strategy=None):
    """A keras-tuner `RandomSearch`, `BayesianOptimization` or `Hyperband` for `hypermodel`.

    `max_trials` is the trial budget of random and Bayesian search; Hyperband uses
    `epochs` as its `max_epochs`. The objective defaults to the hypermodel's, else
    the finest level's validation accuracy.
    """
    if kind not in TUNERS:
        raise ValueError(f"Unknown tuner {kind!r}; use one of {TUNERS}.")
    objective = objective or hypermodel.objective or objective_for(hypermodel.target_hierarchy)
    hypermodel.objective = objective
    common = {"objective": objective, "seed": seed, "directory": str(directory),
              "project_name": project_name or hypermodel.family, "overwrite": overwrite,
              "distribution_strategy": distribution_strategy}
    if kind == "random":
        return RandomSearch(hypermodel, max_trials=max_trials, **common)
    if kind == "bayesian":
        try:
            import scipy  # noqa: F401  (keras-tuner's Gaussian process needs it)
        except ImportError as err:
            raise ImportError("The Bayesian tuner needs scipy: `pip install scipy` (or "
                              "`pip install hier_keras[bayesian]`); or use tuner='random' "
                              "or 'hyperband'.") from err
        return BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    return Hyperband(hypermodel, max_epochs=max(2, epochs), **common)


def tune(family, train, validation, preset=None, tuner="random", max_trials=10,
         epochs=1, objective=None, adapt_alpha=True, directory="runs/tune", seed=0,
         steps_per_epoch=None, **hypermodel_kwargs) -> TuneResult:
    """Search a family's hyperparameters, then tune classifier adaptation on the best model.

    Args:
        family: family name (`"CNNRNN"`, ...; see `tunable_families()`).
        train: `(images, labels)` arrays for training.
        validation: `(images, labels)` arrays the objective and alpha are measured on
            (held out from training; keep the test split out of the search).
        preset: the family preset to start from. Defaults to the family's small
            Fashion-MNIST preset.
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        max_trials: trials (random / Bayesian search).
        epochs: epochs per trial.
        objective: a `keras_tuner.Objective`, or a metric for `objective_for`
            (`"accuracy"`, `"exact_match"`, ...). Defaults to the finest level's accuracy.
        adapt_alpha: tune the classifier-adaptation alpha after the search.
        directory: where keras-tuner keeps its trials.
        seed: tuner seed (also seeds Keras).
        steps_per_epoch: optional cap on batches per epoch.
        **hypermodel_kwargs: `HierarchicalHyperModel` arguments (`space`,
            `overrides`, `batch_sizes`, ...).

    Returns:
        A `TuneResult`.

    Example (one tiny trial on the bundled subset; real searches use more of everything):

    >>> import contextlib, io, tempfile, hier_keras as hk
    >>> d = hk.data.load_arrays("fashion_mnist", source="bundled")
    >>> with contextlib.redirect_stdout(io.StringIO()):  # keras-tuner's trial log
    ...     result = tune("MinPoolNet", (d["x_train"][:256], d["y_train"][:256]),
    ...                   (d["x_test"][:128], d["y_test"][:128]), max_trials=1,
    ...                   steps_per_epoch=2, directory=tempfile.mkdtemp())
    >>> len(result.trials), result.objective
    (1, 'val_fine_accuracy')
    """
    import pandas as pd

    keras.utils.set_random_seed(seed)
    hypermodel = get_hypermodel(family, preset=preset, **hypermodel_kwargs)
    if objective is None or isinstance(objective, str):
        objective = objective_for(hypermodel.target_hierarchy, objective or "accuracy")
    search = make_tuner(hypermodel, tuner, objective=objective, max_trials=max_trials,
                        epochs=epochs, seed=seed, directory=directory)
    search.search(train[0], train[1], validation_data=tuple(validation), epochs=epochs,
                  steps_per_epoch=steps_per_epoch)
    done = [t for t in search.oracle.trials.values() if t.status == "COMPLETED"]
    if not done:
        raise RuntimeError(f"All {len(search.oracle.trials)} trials failed; their tracebacks "
                           "are printed above.")
    best_hp = search.get_best_hyperparameters(1)[0]
    model = search.get_best_models(1)[0]
    rows = []
    for trial in search.oracle.trials.values():
        rows.append({"trial": trial.trial_id, **trial.hyperparameters.values,
                     objective.name: trial.score, "status": trial.status})
    trials = pd.DataFrame(rows).sort_values("trial").reset_index(drop=True)
    val_x, val_y = np.asarray(validation[0]), np.asarray(validation[1])
    before = evaluate_model(model, (val_x, val_y))
    result = TuneResult(model=model, hyperparameters=dict(best_hp.values), trials=trials,
                        objective=objective.name, validation=before, tuner=search)
    if adapt_alpha and _adaptable(model):
        result.alpha = tune_alpha(model, (val_x, val_y))
        adapted = bake_alpha(model, result.alpha.best, order=result.alpha.order)
        after = evaluate_model(adapted, (val_x, val_y))
        result.validation_adapted = after
        key = objective.name.removeprefix("val_")
        if key in after and _better(after[key].iloc[0], before[key].iloc[0], objective.direction):
            result.model, result.adapted = adapted, True
        elif adapted is model:  # families with adaptation built in: switch it back off
            model.set_adaptation_alpha(None)
    return result


def _adaptable(model):
    return list(getattr(model, "output_levels", model.level_names)) == model.level_names \
        and getattr(model, "adaptation_alpha", None) is None


def _better(new, old, direction):
    if math.isnan(new):
        return False
    return new > old if direction == "max" else new < old
