"""Keras-tuner searches over every family: one `HyperModel` per family, `tune()`, and the CLI.

Each family's `HyperModel` is a thin subclass of `HierarchicalHyperModel` that
names the family and declares its search space (`model_space`), taken from
its paper's ranges; learning rate, weight decay and batch size are searched
for every family. Adding a family is one small subclass:

    class MyFamilyHyperModel(HierarchicalHyperModel):
        family = "MyFamily"                     # the registered class name

        def model_space(self, hp):
            return {"width": self.choice(hp, "width", [32, 64], default=32)}

Objectives name per-level metrics as the models log them:
`val_<level>_accuracy`, `val_exact_match`, `val_consistency`, `val_loss`
(`objective_for` builds them and checks the level exists; keras-tuner cannot
infer the direction of such names, so it is always given).

The batch size is a hyperparameter of `HyperModel.fit`: give `fit` arrays
(or an unbatched / batched `tf.data` dataset) and it batches them itself.
Classifier adaptation (Dutt et al. 2017) is tuned after the search, on the
same validation split (`tune(..., adapt_alpha=True)`): alpha is swept per
level with `hier_keras.training.adaptation.tune_alpha` and kept only when it
improves the objective on that split.

Example:

>>> import keras_tuner
>>> hm = get_hypermodel("CNNRNN", space={"units": [16], "embedding_dim": [8]},
...                     overrides={"backbone_kwargs": {"widths": [4, 8, 8]}})
>>> model = hm.build(keras_tuner.HyperParameters())
>>> type(model).__name__, model.units, model.embedding_dim
('CNNRNN', 16, 8)
>>> objective_for(model.hierarchy).name
'val_fine_accuracy'
>>> sorted(HYPERMODELS)[:4]
['CHRNN', 'CNNRNN', 'DHNN', 'HierarchicalCNN']
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np

from hier_keras.hierarchy import Hierarchy

try:
    import keras_tuner
except ImportError as err:  # pragma: no cover - keras-tuner is an install requirement
    raise ImportError(
        "hier_keras.tuning needs keras-tuner: `pip install keras-tuner`."
    ) from err

#: `{family name: HyperModel class}`, filled by each subclass that sets `family`.
HYPERMODELS: dict = {}

#: Learning-rate ranges (log scale) per optimizer. SGD: the papers use 0.1 (WRN, wider
#: ResNet, ResNet-164, DenseNet) and 0.01 (min-pooling, C-HRNN); the CPU presets 0.05.
#: Adam: the C-HRNN CPU presets use 2e-3.
LEARNING_RATES = {"sgd": (1e-3, 0.2), "adam": (1e-4, 1e-2), "adamw": (1e-4, 1e-2)}
#: Weight decay (log scale): the papers use 5e-4 (Guo, min-pooling, C-HRNN) and 1e-4
#: (ResNet-164 / DenseNet for Dutt et al.); one decade either side.
WEIGHT_DECAY = (1e-5, 1e-3)
BATCH_SIZES = (32, 64, 128)
COMMON = ("learning_rate", "weight_decay", "batch_size")


def family_class(name):
    """The model class of a family name (`"CNNRNN"`, `"MergedCNN"`, ...).

    Raises:
        ValueError: unknown family; the message lists the tunable ones.
    """
    import keras

    from hier_keras.models.base import HierarchicalModel, import_all_families

    import_all_families()
    cls = keras.saving.get_registered_object(f"hier_keras>{name}")
    if not (isinstance(cls, type) and issubclass(cls, HierarchicalModel)):
        raise ValueError(f"Unknown family {name!r}; tunable families: {sorted(HYPERMODELS)}.")
    return cls


def get_hypermodel(family, **kwargs):
    """The `HyperModel` of a family, built with `kwargs` (see `HierarchicalHyperModel`).

    Example:

    >>> type(get_hypermodel("MinPoolNet", space={"coarse_loss_weight": [1.0]})).__name__
    'MinPoolNetHyperModel'

    Raises:
        ValueError: no HyperModel for that family (lists the available ones).
    """
    if family not in HYPERMODELS:
        raise ValueError(f"No HyperModel for family {family!r}; tunable families: "
                         f"{sorted(HYPERMODELS)}.")
    return HYPERMODELS[family](**kwargs)


def objective_for(hierarchy, metric="accuracy", level=None):
    """A `keras_tuner.Objective` on a validation metric the models really log.

    Args:
        hierarchy: the `Hierarchy` (or a model's `hierarchy`).
        metric: `"accuracy"` (of `level`), `"exact_match"`, `"consistency"` or `"loss"`.
        level: level name or index for `"accuracy"`. Defaults to the finest level.

    Example:

    >>> objective_for(Hierarchy.fashion_mnist(), level="coarse").name
    'val_coarse_accuracy'
    >>> objective_for(Hierarchy.fashion_mnist(), "loss").direction
    'min'
    """
    tree = Hierarchy.coerce(hierarchy)
    if metric == "accuracy":
        name = tree.level_names[tree.level_index(level if level is not None else -1)]
        return keras_tuner.Objective(f"val_{name}_accuracy", "max")
    if metric in ("exact_match", "consistency"):
        return keras_tuner.Objective(f"val_{metric}", "max")
    if metric == "loss":
        return keras_tuner.Objective("val_loss", "min")
    raise ValueError(f"Unknown objective metric {metric!r}; use accuracy (with a level), "
                     "exact_match, consistency or loss.")


class HierarchicalHyperModel(keras_tuner.HyperModel):
    """Base HyperModel: a family preset, its search space, and fit with a tunable batch size.

    Args:
        preset: the family preset to start from. Defaults to the family's
            `default_preset` (its small Fashion-MNIST preset).
        hierarchy: optional `Hierarchy` replacing the preset's.
        input_shape: optional input shape replacing the preset's.
        overrides: constructor arguments fixed for every trial (e.g. a tiny backbone).
        space: `{hyperparameter: values}` narrowing the search: a list for a choice,
            a `(low, high)` tuple (or `{"min": low, "max": high}`, for JSON) for a
            numeric range, or one value to fix it.
        batch_sizes: batch sizes `fit` chooses from. Defaults to `(32, 64, 128)`.
        objective: the `keras_tuner.Objective` the tuner uses (checked against the
            model's metrics before the first trial trains). Defaults to
            `objective_for(hierarchy)`.
        augment: augment training batches. Defaults to the preset's setting.
        verbose: verbosity of `fit`.
        name, tunable: as `keras_tuner.HyperModel`.

    Example:

    >>> import keras_tuner
    >>> hm = MergedCNNHyperModel(space={"topology": ["merge-2"]},
    ...                          overrides={"backbone_kwargs": {"widths": [4, 8, 8]}})
    >>> hp = keras_tuner.HyperParameters()
    >>> hm.build(hp).topology, sorted(hp.values)
    ('merge-2', ['dropout', 'learning_rate', 'topology', 'weight_decay'])
    """

    #: Registered class name of the family; subclasses set it (and are registered).
    family: str = ""
    #: The preset searched when none is given.
    default_preset: str = "small_fashion_mnist"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.family:
            HYPERMODELS[cls.family] = cls

    def __init__(self, preset=None, hierarchy=None, input_shape=None,
                 overrides=None, space=None, batch_sizes=BATCH_SIZES, objective=None,
                 augment=None, verbose=0, name=None, tunable=True):
        super().__init__(name=name or f"{self.family}_hypermodel", tunable=tunable)
        self.family_cls = family_class(self.family)
        preset = preset or self.default_preset
        if preset not in self.family_cls.presets and preset not in self.family_cls.preset_names():
            raise ValueError(f"Unknown preset {preset!r} for {self.family}; choose one of "
                             f"{self.family_cls.preset_names()}.")
        self.preset = preset
        self.hierarchy = hierarchy
        self.input_shape = input_shape
        self.overrides = dict(overrides or {})
        self.space = dict(space or {})
        self.batch_sizes = [int(b) for b in batch_sizes]
        self.objective = objective
        self.augment = augment
        self.verbose = verbose
        self._declared = set(COMMON)

    # ------------------------------------------------------------ search space
    def model_space(self, hp) -> dict:
        """Family hook: constructor overrides drawn from `hp` (the paper's ranges)."""
        return {}

    def training_space(self, hp, training_config) -> dict:
        """Learning rate and weight decay (log scale) for the preset's optimizer."""
        opt = training_config.get("optimizer", "sgd").lower()
        lr_default = training_config.get("learning_rate")
        wd_default = training_config.get("weight_decay") or 5e-4
        return {
            "learning_rate": self.log_float(hp, "learning_rate", LEARNING_RATES[opt],
                                            default=lr_default),
            "weight_decay": self.log_float(hp, "weight_decay", WEIGHT_DECAY, default=wd_default),
        }

    def choice(self, hp, name, values, default=None):
        """`hp.Choice` over `values`, unless `space[name]` narrows or fixes it."""
        self._declared.add(name)
        values = self.space.get(name, values)
        if not isinstance(values, (list, tuple)):
            return hp.Fixed(name, values)
        values = list(values)
        default = default if default in values else values[0]
        return hp.Choice(name, values, default=default)

    def log_float(self, hp, name, bounds, default=None):
        """`hp.Float(..., sampling="log")` in `bounds`, unless `space[name]` narrows or fixes it."""
        return self._float(hp, name, bounds, default, sampling="log")

    def linear_float(self, hp, name, bounds, step=None, default=None):
        """`hp.Float` in `bounds` (linear), unless `space[name]` narrows or fixes it."""
        return self._float(hp, name, bounds, default, step=step)

    def _float(self, hp, name, bounds, default, sampling=None, step=None):
        self._declared.add(name)
        bounds = _range(self.space.get(name, bounds))
        if isinstance(bounds, list):
            return hp.Choice(name, bounds, default=bounds[0])
        if not isinstance(bounds, tuple):
            return hp.Fixed(name, float(bounds))
        low, high = float(bounds[0]), float(bounds[1])
        in_range = default is not None and low <= default <= high
        if sampling == "log":  # keras-tuner picks the log-scale default itself
            return hp.Float(name, low, high, sampling="log",
                            default=float(default) if in_range else None)
        return hp.Float(name, low, high, step=step, default=float(default) if in_range else low)

    # ------------------------------------------------------------ build / fit
    def build(self, hp):
        """A model of the family for the values in `hp`, compiled at a constant rate.

        `fit` recompiles it with the preset's schedule once the number of steps
        is known.
        """
        from hier_keras.models.base import make_optimizer

        config = dict(self.overrides)
        config.update(self.model_space(hp))
        unknown = sorted(set(self.space) - self._declared)
        if unknown:
            raise ValueError(f"`space` names {unknown}, which are not hyperparameters of "
                             f"{type(self).__name__}; it searches {sorted(self._declared)}.")
        model = self.family_cls.from_preset(self.preset, hierarchy=self.hierarchy,
                                            input_shape=self.input_shape, **config)
        model.training_config.update(self.training_space(hp, model.training_config))
        constant = dict(model.training_config, schedule={"type": "constant"})
        model.compile(optimizer=make_optimizer(constant))
        return model

    def fit(self, hp, model, x, y=None, validation_data=None, epochs=1, callbacks=None,
            **kwargs):
        """Batch the data with the tuned `batch_size` and train with the preset's schedule.

        Args:
            hp: the trial's `HyperParameters`.
            model: the model `build` returned.
            x: training images (with `y` labels), or a `tf.data` dataset of
                `(images, labels)` (re-batched here).
            validation_data: `(images, labels)` arrays or a dataset.
            epochs: epochs per trial.
            callbacks: the tuner's callbacks (and yours).
            **kwargs: more `fit_model` / `Model.fit` arguments (`steps_per_epoch`, ...).

        Returns:
            The Keras `History` (its `val_*` entries are what the tuner reads).
        """
        from hier_keras.training import fit_model

        self.check_objective(model)
        batch_size = self.choice(hp, "batch_size", self.batch_sizes)
        augment = self.augment if self.augment is not None else model.preprocessing["augment"]
        train = _as_dataset(model, x, y, batch_size, shuffle=True, augment=augment)
        val = None
        if validation_data is not None:
            val = _as_dataset(model, *_split_xy(validation_data), 256, shuffle=False,
                              augment=False)
        kwargs.setdefault("verbose", self.verbose)
        return fit_model(model, train, epochs=epochs, validation_data=val,
                         callbacks=list(callbacks or []), **kwargs)

    def check_objective(self, model):
        """Raise when the objective names a metric this model does not log."""
        if self.objective is None:
            return
        names = [o.name for o in getattr(self.objective, "objectives", [self.objective])]
        logged = ["loss"] + [m.name for m in model.hk_metrics]
        for name in names:
            if name.removeprefix("val_") not in logged:
                raise ValueError(f"Objective {name!r} is not a metric {type(model).__name__} "
                                 f"logs; it logs {['val_' + m for m in logged]}.")


def _range(bounds):
    if isinstance(bounds, dict):
        if set(bounds) != {"min", "max"}:
            raise ValueError(f"A range in `space` is {{'min': low, 'max': high}}; got {bounds}.")
        return (bounds["min"], bounds["max"])
    return bounds


def _split_xy(data):
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    return data, None


def _as_dataset(model, x, y, batch_size, shuffle, augment):
    """Arrays -> a batched tf.data pipeline; a dataset -> re-batched to `batch_size`."""
    import tensorflow as tf

    from hier_keras.data import from_arrays

    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("Pass labels inside the dataset, not as `y`.")
        spec = x.element_spec[0]
        if spec.shape.rank == len(model.image_shape) + 1:
            x = x.unbatch()
        return x.batch(batch_size)
    if y is None:
        raise ValueError("`fit` needs labels: `fit(hp, model, images, labels, ...)`.")
    return from_arrays(np.asarray(x), np.asarray(y), model.hierarchy, batch_size=batch_size,
                       shuffle=shuffle, augment=augment, preprocessing=model.preprocessing)


# =============================================================== one per family
class HierarchicalCNNHyperModel(HierarchicalHyperModel):
    """Guo et al. 2018 CNN generators: head strategy (Table 2) and dropout.

    Searches `head` in coarse_to_fine / fine_to_coarse / parallel (the three
    supervised strategies of Sec. 3.1) and `dropout` in [0, 0.5].
    """

    family = "HierarchicalCNN"

    def model_space(self, hp):
        return {"head": self.choice(hp, "head", ["parallel", "coarse_to_fine", "fine_to_coarse"]),
                "dropout": self.linear_float(hp, "dropout", (0.0, 0.5), step=0.1)}


class CNNRNNHyperModel(HierarchicalHyperModel):
    """CNN-RNN (Guo et al. 2018): label-embedding and LSTM sizes.

    The paper uses 1000/1000 (ImageNet, Sec. 4.3) and our CIFAR-100 presets
    256/512; the grid runs from the CPU preset's 64/128 up to 1000.
    """

    family = "CNNRNN"

    def model_space(self, hp):
        return {"embedding_dim": self.choice(hp, "embedding_dim", [64, 128, 256, 512, 1000],
                                             default=64),
                "units": self.choice(hp, "units", [128, 256, 512, 1000], default=128)}


class MergedCNNHyperModel(HierarchicalHyperModel):
    """MergedCNN (Dutt et al. 2017): the merge point (merge-0 .. merge-<stages>) and dropout.

    The topologies of Fig. 2 / Fig. 3 (merge-1 and merge-2 best there); the
    number of stages comes from the preset's backbone.
    """

    family = "MergedCNN"

    def model_space(self, hp):
        from hier_keras.backbones import get_backbone_spec

        cfg = copy.deepcopy(self.family_cls.presets.get(self.preset, {}).get("config", {}))
        cfg.update(self.overrides)
        stages = len(get_backbone_spec(cfg.get("backbone", "small"),
                                       **cfg.get("backbone_kwargs", {})).stages)
        return {"topology": self.choice(hp, "topology", [f"merge-{k}" for k in range(stages + 1)],
                                        default="merge-1"),
                "dropout": self.linear_float(hp, "dropout", (0.0, 0.5), step=0.1)}


class MinPoolNetHyperModel(HierarchicalHyperModel):
    """MinPoolNet: lambda of eq. 7 (`coarse_loss_weight`).

    Fig. 5 sweeps lambda and finds 1 best; its axis is not in the surviving
    text, so the grid is log-symmetric around 1 (0.25 .. 4).
    """

    family = "MinPoolNet"

    def model_space(self, hp):
        return {"coarse_loss_weight": self.choice(hp, "coarse_loss_weight",
                                                  [0.25, 0.5, 1.0, 2.0, 4.0], default=1.0)}


class CHRNNHyperModel(HierarchicalHyperModel):
    """C-HRNN (Zuo et al. 2016): recurrent cell and cross-scale links (the variants of
    Table II: C-HLSTM, C-HSRN, C-MLSTM, C-MSRN), RNN units (256 in the paper; the CPU
    preset uses the 64-channel map) and the RNN dropout (0.5 in the paper)."""

    family = "CHRNN"

    def model_space(self, hp):
        return {"variant": self.choice(hp, "variant", ["c_hlstm", "c_hsrn", "c_mlstm", "c_msrn"]),
                "units": self.choice(hp, "units", [64, 128, 256], default=64),
                "rnn_dropout": self.linear_float(hp, "rnn_dropout", (0.0, 0.5), step=0.25,
                                                 default=0.25)}


class DHNNHyperModel(HierarchicalHyperModel):
    """DHNN (Koo et al. 2018): converter type (Sec. 3.3: linear mode product,
    convolutional, pooling) and the RNN / S2S sizes: input size p and hidden size
    (the paper's 256/512, 512/512 and large 2048/1024; the CPU presets' 128/128)."""

    family = "DHNN"
    default_preset = "small_s2s_fashion_mnist"

    def model_space(self, hp):
        return {"converter": self.choice(hp, "converter", ["pool", "linear", "conv"]),
                "input_dim": self.choice(hp, "input_dim", [128, 256, 512, 2048], default=128),
                "units": self.choice(hp, "units", [128, 512, 1024], default=128)}


# =============================================================== search + alpha
@dataclasses.dataclass
class TuneResult:
    """What `tune` returns.

    Attributes:
        model: the best trial's model (with the tuned classifier adaptation when it
            helped: then an adapted model, see `bake_alpha`).
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


TUNERS = ("random", "bayesian", "hyperband")


def make_tuner(hypermodel, kind="random", objective=None, max_trials=10, epochs=1, seed=0,
               directory="runs/tune", project_name=None, overwrite=True, distribution_strategy=None):
    """A keras-tuner `RandomSearch`, `BayesianOptimization` or `Hyperband` for `hypermodel`.

    `max_trials` is the trial budget of random and Bayesian search; Hyperband uses
    `epochs` as its `max_epochs`.
    """
    if kind not in TUNERS:
        raise ValueError(f"Unknown tuner {kind!r}; use one of {TUNERS}.")
    objective = objective or hypermodel.objective
    if objective is None:
        tree = hypermodel.hierarchy or Hierarchy.coerce(
            _preset_hierarchy(hypermodel.family_cls, hypermodel.preset))
        objective = objective_for(tree)
    hypermodel.objective = objective
    common = dict(objective=objective, seed=seed, directory=str(directory),
                  project_name=project_name or hypermodel.family, overwrite=overwrite,
                  distribution_strategy=distribution_strategy)
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


def _preset_hierarchy(cls, preset):
    from hier_keras.models.base import _resolve_hierarchy

    if preset in cls.presets:
        return _resolve_hierarchy(dict(cls.presets[preset]["config"]))["hierarchy"]
    return cls.from_preset(preset, load_weights=False).hierarchy


def tune(family, train, validation, preset=None, tuner="random", max_trials=10,
         epochs=1, objective=None, adapt_alpha=True, directory="runs/tune", seed=0,
         steps_per_epoch=None, **hypermodel_kwargs) -> TuneResult:
    """Search a family's hyperparameters, then tune classifier adaptation on the best model.

    Args:
        family: family name (`"CNNRNN"`, ...; see `HYPERMODELS`).
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
    import keras
    import pandas as pd

    from hier_keras.metrics import evaluate_model
    from hier_keras.training.adaptation import tune_alpha

    keras.utils.set_random_seed(seed)
    hypermodel = get_hypermodel(family, preset=preset, **hypermodel_kwargs)
    tree = hypermodel.hierarchy or _preset_hierarchy(hypermodel.family_cls, hypermodel.preset)
    if objective is None or isinstance(objective, str):
        objective = objective_for(tree, objective or "accuracy")
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
        adapted = result.alpha.bake(model)
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
