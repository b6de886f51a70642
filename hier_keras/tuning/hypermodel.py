"""`HierarchicalHyperModel`: one keras-tuner `HyperModel` for every family.

The hypermodel builds a family's preset with constructor arguments drawn from
the family's search space, which lives next to the family in
`hier_keras/models/<family>/<family>_search_space.py` as a function
`search_space(space, hp) -> dict` (the hypermodel is `space`: its `choice`,
`log_float` and `linear_float` apply the user's `space={...}` narrowing, and
its `config` is the constructor config the trials start from). Learning
rate, weight decay and batch size are searched here for every family.

Example:

>>> import keras_tuner
>>> hm = get_hypermodel("MergedCNN", space={"topology": ["merge-2"]},
...                     overrides={"backbone_kwargs": {"widths": [4, 8, 8]}})
>>> hm
HierarchicalHyperModel(family='MergedCNN', preset='small_fashion_mnist')
>>> hp = keras_tuner.HyperParameters()
>>> hm.build(hp).topology, sorted(hp.values)
('merge-2', ['dropout', 'learning_rate', 'topology', 'weight_decay'])
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import os

import keras_tuner
import numpy as np

from hier_keras.data import from_arrays
from hier_keras.hierarchy import Hierarchy
from hier_keras.models import get_family, list_families
from hier_keras.optimizers import make_optimizer
from hier_keras.presets import read_preset_config, resolve_preset
from hier_keras.training import fit_model

#: Learning-rate ranges (log scale) per optimizer. SGD: the papers use 0.1 (WRN, wider
#: ResNet, ResNet-164, DenseNet) and 0.01 (min-pooling, C-HRNN); the CPU presets 0.05.
#: Adam: the C-HRNN CPU presets use 2e-3.
LEARNING_RATES = {"sgd": (1e-3, 0.2), "adam": (1e-4, 1e-2), "adamw": (1e-4, 1e-2)}
#: Weight decay (log scale): the papers use 5e-4 (Guo, min-pooling, C-HRNN) and 1e-4
#: (ResNet-164 / DenseNet for Dutt et al.); one decade either side.
WEIGHT_DECAY = (1e-5, 1e-3)
BATCH_SIZES = (32, 64, 128)
COMMON = ("learning_rate", "weight_decay", "batch_size")
#: The preset searched when neither the caller nor the family's search space names one.
DEFAULT_PRESET = "small_fashion_mnist"
#: Suffix of a family's search-space module, next to its model module.
SEARCH_SPACE_SUFFIX = "_search_space"


def search_space_module(family):
    """The search-space module of a family (name or class): `<family module>_search_space`.

    It defines `search_space(space, hp) -> dict` and may set `DEFAULT_PRESET`.

    Example:

    >>> search_space_module("CNNRNN").__name__
    'hier_keras.models.cnnrnn.cnnrnn_search_space'

    Raises:
        ValueError: unknown family (the registry's message, with the closest name),
            or a family without a search space (lists the tunable ones).
    """
    cls = get_family(family)
    name = cls.__module__ + SEARCH_SPACE_SUFFIX
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
    raise ValueError(f"Family {cls.__name__!r} has no search space (no module {name}); "
                     f"tunable families: {tunable_families()}.")


def tunable_families() -> list[str]:
    """Registered families with presets and a search space.

    Example:

    >>> tunable_families()[:4]
    ['CHRNN', 'CNNRNN', 'DHNN', 'HierarchicalCNN']
    """
    return [name for name in list_families(with_presets=True)
            if importlib.util.find_spec(get_family(name).__module__ + SEARCH_SPACE_SUFFIX)]


def get_hypermodel(family, **kwargs):
    """The `HierarchicalHyperModel` of a family, built with `kwargs`.

    Example:

    >>> hm = get_hypermodel("MinPoolNet", space={"coarse_loss_weight": [1.0]})
    >>> type(hm).__name__, hm.family, hm.name
    ('HierarchicalHyperModel', 'MinPoolNet', 'MinPoolNet_hypermodel')

    Raises:
        ValueError: unknown family or one without a search space.
    """
    return HierarchicalHyperModel(family, **kwargs)


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
    """A family preset, its search space, and fit with a tunable batch size.

    Args:
        family: the family (registered name, case-insensitive, or class).
        preset: the family preset to start from (built-in, zoo entry or directory).
            Defaults to the search space's `DEFAULT_PRESET`, else `small_fashion_mnist`.
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
        search_space: a function `(space, hp) -> dict` replacing the family's own
            (needed for a family defined outside hier_keras without a
            `<module>_search_space` module).
        name, tunable: as `keras_tuner.HyperModel`.
    """

    def __init__(self, family, preset=None, hierarchy=None, input_shape=None,
                 overrides=None, space=None, batch_sizes=BATCH_SIZES, objective=None,
                 augment=None, verbose=0, search_space=None, name=None, tunable=True):
        self.family_cls = get_family(family)
        self.family = self.family_cls.__name__
        module = None if search_space is not None else search_space_module(self.family_cls)
        self.search_space = search_space or module.search_space
        super().__init__(name=name or f"{self.family}_hypermodel", tunable=tunable)
        preset = preset or getattr(module, "DEFAULT_PRESET", DEFAULT_PRESET)
        if preset not in self.family_cls.preset_names() and not os.path.isdir(str(preset)):
            raise ValueError(f"Unknown preset {preset!r} for {self.family}; choose one of "
                             f"{self.family_cls.preset_names()} or a preset directory.")
        self.preset = str(preset)
        self.hierarchy = hierarchy
        self.input_shape = input_shape
        self.overrides = dict(overrides or {})
        self.space = dict(space or {})
        self.batch_sizes = [int(b) for b in batch_sizes]
        self.objective = objective
        self.augment = augment
        self.verbose = verbose
        self._declared = set(COMMON)

    def __repr__(self):
        return f"{type(self).__name__}(family={self.family!r}, preset={self.preset!r})"

    @functools.cached_property
    def config(self) -> dict:
        """The constructor config trials start from: the preset's, with the fixed overrides.

        `hierarchy` and `input_shape` are the given ones when given.
        """
        kind, found = resolve_preset(self.family_cls, self.preset)
        config = found if kind == "architecture" else copy.deepcopy(
            read_preset_config(found)[0]["config"])
        config.update(self.overrides)
        if self.hierarchy is not None:
            config["hierarchy"] = self.hierarchy
        if self.input_shape is not None:
            config["input_shape"] = list(self.input_shape)
        return config

    @property
    def target_hierarchy(self) -> Hierarchy:
        """The hierarchy the trials' models classify into (for the default objective)."""
        return Hierarchy.coerce(self.config["hierarchy"])

    # ------------------------------------------------------------ search space
    def model_space(self, hp) -> dict:
        """Constructor arguments drawn from `hp` by the family's search space."""
        return self.search_space(self, hp)

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
        config = dict(self.overrides)
        config.update(self.model_space(hp))
        unknown = sorted(set(self.space) - self._declared)
        if unknown:
            raise ValueError(f"`space` names {unknown}, which are not hyperparameters of the "
                             f"{self.family} search space; it searches "
                             f"{sorted(self._declared)}.")
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
