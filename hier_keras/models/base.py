"""`HierarchicalModel`: the base class every family builds on.

It owns what all families share, so a family adds only its architecture:

- the hierarchy and the preprocessing (input shape, per-channel mean/std in
  raw pixel units; images are normalised *inside* the model, so exported
  models take raw images);
- the output contract: `model(images)` / `predict()` return
  `{level_name: (batch, n_level) probabilities}`;
- training: `compute_loss` (masked per-level cross-entropy, eq. 1 of Guo et
  al. 2018, unless the family overrides `hierarchical_loss`) and streaming
  per-level metrics (`<level>_accuracy`, `exact_match`, `consistency`);
- `compile()` defaults from the preset's training config;
- `predict_paths()`, `from_preset()`, `save_to_preset()`, `export()`,
  `get_config()`.

A family implements `forward(images, training) -> {level_name: logits}`
(or overrides `call` when its probabilities do not come from per-level
logits) and lists its constructor arguments in `get_config`.
"""

from __future__ import annotations

import json

import keras
import numpy as np
from keras import ops

from hier_keras.backbones import get_backbone, serialize_backbone
from hier_keras.hierarchy import Hierarchy
from hier_keras.losses import HierarchicalCrossEntropy
from hier_keras.metrics import level_metrics
from hier_keras.models.inputs import RAW_PIXELS, check_images, check_labels
from hier_keras.optimizers import TrainingConfig, make_optimizer
from hier_keras.outputs import public_outputs
from hier_keras.paths import argmax_paths, constrained_argmax
from hier_keras.presets import files as preset_files
from hier_keras.presets.loading import load_preset, resolve_preset
from hier_keras.presets.registry import zoo_family


class HierarchicalModel(keras.Model):
    """Base class of all hier_keras families (see module docstring).

    Args:
        hierarchy: `Hierarchy` or its dict (`Hierarchy.to_dict()`).
        input_shape: `(height, width, channels)` of the images the model takes.
        mean: per-channel mean in raw pixel units (one value or one per
            channel). Defaults to 0 (no centring).
        std: per-channel std in raw pixel units. Defaults to 255 (scales to [0, 1]).
        level_weights: per-level loss weights, coarsest first. Defaults to 1 each.
        training_config: dict read by `compile()`: `optimizer` ("sgd",
            "adam", "adamw"), `learning_rate`, `momentum`, `weight_decay`,
            `nesterov`, `schedule` (`{"type": "piecewise", "boundaries":
            [...], "factor": 0.1}`, `{"type": "cosine"}` or
            `{"type": "constant"}`), `batch_size`, `epochs`, `augment`,
            `padding` (`hk.optimizers.TrainingConfig`).
        backbone_weights: `None`, `"imagenet"` or a weights file, loaded into
            the backbone (`make_backbone`); not stored in the config.
        pixel_range: `(low, high)` of the raw pixels the model takes; NumPy
            inputs outside it, or scaled to [0, 1] for a 0-255 model, are
            refused (`None`: no range check). Defaults to `(0, 255)`.
        name: model name.
    """

    #: `{preset name: {"config": {...}, "description": str}}`, filled by each family.
    presets: dict = {}
    #: Name prefix of the family's zoo entries, e.g. "cnnrnn".
    family_key: str = ""
    #: Overrides that make any preset of the family tiny (the registry-wide test uses them).
    tiny_overrides: dict = {"backbone": "small", "backbone_kwargs": {"widths": [4, 8, 8]}}

    def __init__(self, hierarchy, input_shape, mean=None, std=None, level_weights=None,
                 training_config=None, backbone_weights=None, pixel_range=RAW_PIXELS,
                 **kwargs):
        super().__init__(**kwargs)
        self.hierarchy = Hierarchy.coerce(hierarchy)
        self._backbone_json = None
        self.pixel_range = None if pixel_range is None else tuple(float(v) for v in pixel_range)
        # Read once by `make_backbone`; not part of the config (the weights file holds them).
        self._backbone_weights = None if backbone_weights is None else str(backbone_weights)
        self.image_shape = tuple(int(d) for d in input_shape)
        if len(self.image_shape) != 3:
            raise ValueError(
                f"`input_shape` must be (height, width, channels); received {input_shape}."
            )
        channels = self.image_shape[-1]
        self.mean = _per_channel(mean if mean is not None else 0.0, channels, "mean")
        self.std = _per_channel(std if std is not None else 255.0, channels, "std")
        if min(self.std) <= 0:
            raise ValueError(f"`std` must be positive; received {self.std}.")
        if level_weights is not None and len(level_weights) != self.hierarchy.depth:
            raise ValueError(
                f"`level_weights` needs one weight per level ({self.hierarchy.depth}); "
                f"received {level_weights}."
            )
        self.level_weights = list(level_weights) if level_weights is not None else None
        TrainingConfig.from_dict(training_config)  # checked once, stored as JSON data
        self.training_config = dict(training_config or {})
        self.hk_metrics = level_metrics(self.hierarchy, levels=self.output_levels)

    # ----------------------------------------------------------- contract
    @property
    def level_names(self) -> list[str]:
        return list(self.hierarchy.level_names)

    @property
    def output_levels(self) -> list[str]:
        """Levels this model predicts (all of them unless a family says otherwise)."""
        return self.level_names

    def make_backbone(self, backbone, backbone_kwargs=None, include_features=True):
        """The family's `Backbone` from its `backbone=` argument, recorded for `get_config`.

        `backbone` is anything `hk.backbones.get_backbone` takes: a registered
        name, `"keras.applications.<Name>"`, `"keras_hub:<preset>"`, a
        `Backbone`, a functional Keras model or a serialized backbone. The
        constructor's `backbone_weights` (`"imagenet"` or a weights file) are
        loaded into it. A backbone that normalises images itself (its
        `normalization` is `"raw"`, e.g. keras.applications models) gets raw
        pixels: the model's own mean/std become 0/1; one that names its
        mean/std (a KerasHub image converter) gets those.
        """
        net = get_backbone(backbone, self.image_shape, backbone_kwargs, include_features,
                           weights=self._backbone_weights)
        norm = getattr(net, "normalization", None)
        channels = self.image_shape[-1]
        if norm == "raw":
            self.mean, self.std = [0.0] * channels, [1.0] * channels
        elif isinstance(norm, dict):
            # RGB statistics for gray images (repeated to RGB inside the backbone): their mean.
            mean, std = (np.asarray(norm[k], np.float64).reshape(-1) for k in ("mean", "std"))
            if channels == 1:
                mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
            self.mean = _per_channel(mean, channels, "mean")
            self.std = _per_channel(std, channels, "std")
        self._backbone_json = json.dumps(serialize_backbone(net))
        return net

    def backbone_layers(self) -> list:
        """The layers `hk.training.fine_tune` freezes: the backbone (families may override)."""
        for attr in ("backbone", "trunk"):
            layer = getattr(self, attr, None)
            if isinstance(layer, keras.layers.Layer):
                return [layer]
        return []

    @property
    def backbone_config(self) -> dict | None:
        """The serialized backbone this model was built on (`None` without one)."""
        return None if self._backbone_json is None else json.loads(self._backbone_json)

    @property
    def backbone_name(self) -> str | None:
        """The registered architecture name of the backbone (`"small"`, `"wrn28_10"`, ...)."""
        config = self.backbone_config
        return None if config is None else config["config"]["architecture"]

    @property
    def preprocessing(self) -> dict:
        """What `hk.data.load(..., preprocessing=model.preprocessing)` needs."""
        cfg = TrainingConfig.from_dict(self.training_config)
        return {
            "input_shape": list(self.image_shape),
            "mean": list(self.mean),
            "std": list(self.std),
            "padding": cfg.padding,
            "augment": bool(cfg.augment),
        }

    def normalize(self, images):
        """Raw pixels -> `(x - mean) / std`, inside the graph."""
        images = ops.cast(images, self.compute_dtype)
        mean = ops.convert_to_tensor(np.array(self.mean, np.float32), self.compute_dtype)
        std = ops.convert_to_tensor(np.array(self.std, np.float32), self.compute_dtype)
        return (images - mean) / std

    def forward(self, images, training=False) -> dict:
        """Family hook: normalised images -> `{level_name: logits}`."""
        raise NotImplementedError(f"{type(self).__name__} must implement `forward` or `call`.")

    def call(self, images, training=False):
        logits = self.forward(self.normalize(images), training=training)
        outputs = {name: ops.softmax(ops.cast(v, "float32"), axis=-1) for name, v in logits.items()}
        if training:
            outputs["_logits"] = logits
        return outputs

    def build_model(self):
        """Create every weight (families call this at the end of `__init__`)."""
        self.build((None,) + self.image_shape)

    def build(self, input_shape):
        if self.built:
            return
        # One call on a symbolic batch creates every weight of every sub-layer.
        self.compute_output_spec(keras.KerasTensor(tuple(input_shape), dtype="float32"))
        self.built = True

    # ----------------------------------------------------------- training
    def hierarchical_loss(self, y, y_pred):
        """Family hook: the data loss. Default: masked per-level cross-entropy (eq. 1).

        Uses the training-time logits when the forward pass provides them
        (`_logits`), else the probabilities; levels a model does not score
        are left out.
        """
        from_logits = "_logits" in y_pred
        scores = y_pred["_logits"] if from_logits else public_outputs(y_pred)
        names = [n for n in self.level_names if n in scores]
        idx = [self.level_names.index(n) for n in names]
        weights = None
        if self.level_weights is not None:
            weights = [self.level_weights[i] for i in idx]
        loss_fn = HierarchicalCrossEntropy(level_weights=weights, from_logits=from_logits)
        if len(idx) < self.hierarchy.depth:
            y = ops.take(y, idx, axis=1)
        return loss_fn(y, [scores[n] for n in names])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        y = self._select_labels(y)
        loss = self.hierarchical_loss(y, y_pred)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def _select_labels(self, y):
        return ops.cast(y, "int32")

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        y = self._select_labels(y)
        preds = public_outputs(y_pred)
        for metric in self.hk_metrics:
            metric.update_state(y, preds)
        return self.get_metrics_result()

    def compile(self, optimizer=None, total_steps=None, **kwargs):
        """Compile with the preset's optimizer and schedule unless told otherwise.

        Args:
            optimizer: a Keras optimizer or name; `None` builds the one in
                `training_config`.
            total_steps: the run's number of optimizer steps; needed by the
                cosine schedule (without it the learning rate stays constant
                and a warning says so).
            **kwargs: forwarded to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...). `loss` and `metrics` are owned by
                the model and may not be passed.
        """
        for key in ("loss", "metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"hier_keras models own their `{key}` (masked per-level "
                    "cross-entropy and per-level metrics); do not pass it to compile(). "
                    "Set `level_weights` in the constructor to reweight levels."
                )
            kwargs.pop(key, None)
        if optimizer is None:
            optimizer = make_optimizer(self.training_config, total_steps)
        self._compile_total_steps = total_steps
        super().compile(optimizer=optimizer, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config() or {}
        config["total_steps"] = getattr(self, "_compile_total_steps", None)
        return config

    @property
    def plateau_settings(self) -> dict:
        """`ReduceLROnPlateau` arguments: `training_config["reduce_lr_on_plateau"]` or the default.

        The paper presets of MinPoolNet and C-HRNN reduce the learning rate
        "whenever the model performance reaches plateau": their configs keep
        the rate constant and name the reduction here. Without that entry:
        factor 0.1, patience 5 on the finest level's validation accuracy.
        `hk.training.plateau_callback(model)` builds the callback.
        """
        return dict(TrainingConfig.from_dict(self.training_config).reduce_lr_on_plateau or
                    {"monitor": f"val_{self.level_names[-1]}_accuracy", "mode": "max",
                     "factor": 0.1, "patience": 5})

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(dict(config))
        for key in ("loss", "metrics", "weighted_metrics", "loss_weights"):
            config.pop(key, None)
        self.compile(**config)
        if self.built and hasattr(self.optimizer, "build"):
            self.optimizer.build(self.trainable_variables)

    # ----------------------------------------------------------- inference
    def check_images(self, images):
        """A NumPy batch of raw images checked for this model (`hier_keras/models/inputs.py`)."""
        return check_images(images, self.image_shape, self.pixel_range)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit`, with NumPy images and label rows checked first.

        A label row with an id out of range, a finer label whose parent is not
        the given coarser one, or images of the wrong shape raise a
        `ValueError` naming the problem instead of training on it. (Datasets
        built with `hk.data` are checked when they are built.)

        Example:

        >>> import hier_keras as hk, numpy as np
        >>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist")
        >>> model.compile(total_steps=1)
        >>> bad = np.array([[0, 5, 9]])  # Shoes is not under Clothes
        >>> try:
        ...     model.fit(np.zeros((1, 28, 28, 1)), bad, verbose=0)
        ... except ValueError as e:
        ...     print("parent" in str(e))
        True
        """
        x, y = self._checked_arrays(x, y)
        if isinstance(validation_data, tuple) and len(validation_data) >= 2:
            validation_data = (self._checked_arrays(*validation_data[:2])
                               + tuple(validation_data[2:]))
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, with NumPy images and label rows checked first."""
        x, y = self._checked_arrays(x, y, training=False)
        return super().evaluate(x, y, *args, **kwargs)

    def _checked_arrays(self, x, y, training=True):
        if isinstance(x, np.ndarray):
            x = self.check_images(x)
        if isinstance(y, (np.ndarray, list)):
            y = np.asarray(y)
            if y.ndim == 3:  # multi-label: (batch, paths, depth)
                self.hierarchy.validate_labels(y.reshape(-1, y.shape[-1]))
                y = y.astype(np.int32)
            else:
                y = check_labels(y, self.hierarchy, training=training)
        return x, y

    def predict(self, x, *args, **kwargs):
        if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)) and x and np.ndim(x[0]) >= 2:
            x = self.check_images(x)
        return super().predict(x, *args, **kwargs)

    def predict_label_paths(self, images, batch_size=256, probs=None, given=None) -> np.ndarray:
        """Int `(N, depth)` predicted label paths.

        Default: per-level argmax (may break the tree; `consistency` measures
        it), cut after a predicted leaf. With `given` labels (`(N, depth)`,
        -1 where unknown) the known levels are kept and each finer level takes
        the most probable child of the level above (what pseudo-labelling of
        coarse-only data needs). Families with a decoder override this.
        """
        if probs is None:
            probs = self.predict(images, batch_size=batch_size, verbose=0)
        if given is not None:
            n = len(next(iter(probs.values())))
            return constrained_argmax(probs, self.hierarchy, self.check_given(given, n))
        return argmax_paths(public_outputs(probs), self.hierarchy)

    def check_given(self, given, n):
        """Validate `given` label rows for `n` images."""
        given = self.hierarchy.validate_labels(np.asarray(given))
        if len(given) != n:
            raise ValueError(f"`given` has {len(given)} label rows for {n} images.")
        return given

    def predict_paths(self, images, batch_size=256):
        """Predicted paths with names: `[[("Tops", 0.97), ("Shirt", 0.81)], ...]`.

        Each probability is the model's per-level probability of that class.

        Example:

        >>> import hier_keras as hk, numpy as np
        >>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist")
        >>> paths = model.predict_paths(np.zeros((2, 28, 28, 1)))
        >>> len(paths), len(paths[0])
        (2, 3)
        """
        probs = self.predict(images, batch_size=batch_size, verbose=0)
        paths = self.predict_label_paths(images, batch_size=batch_size, probs=probs)
        out = []
        for i, path in enumerate(paths):
            row = []
            for level, idx in enumerate(path):
                if idx < 0:
                    break
                name = self.level_names[level]
                p = float(probs[name][i, idx]) if name in probs else float("nan")
                row.append((self.hierarchy.class_names[level][idx], p))
            out.append(row)
        return out

    # ----------------------------------------------------------- serialization
    def get_config(self):
        config = {
            "name": self.name,
            "hierarchy": self.hierarchy.to_dict(),
            "input_shape": list(self.image_shape),
            "mean": list(self.mean),
            "std": list(self.std),
            "level_weights": self.level_weights,
            # Through JSON: Keras tracks the dict, and deep-copying a tracked dict saves the model.
            "training_config": json.loads(json.dumps(self.training_config)),
            "pixel_range": None if self.pixel_range is None else list(self.pixel_range),
        }
        if self._backbone_json is not None:
            config["backbone"] = self.backbone_config
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def preset_names(cls) -> list[str]:
        """Built-in architecture presets and zoo entries this family can load."""
        zoo = [n for n, d in preset_files.zoo_entries().items()
               if zoo_family(d) == cls.__name__]
        return sorted(cls.presets) + zoo

    @classmethod
    def from_preset(cls, preset, hierarchy=None, input_shape=None, load_weights=True,
                    **overrides):
        """Build a model from a preset name, a zoo entry or a preset directory.

        Args:
            preset: a built-in architecture preset of this family (see
                `Family.presets`), a zoo entry name, or a path to a directory
                written by `save_to_preset`.
            hierarchy: a `Hierarchy` replacing the preset's. With a saved
                preset, weights of layers whose shapes still fit are loaded
                (the backbone) and the heads start fresh.
            input_shape: replaces the preset's input shape.
            load_weights: load saved weights (directories and zoo entries).
            **overrides: any constructor argument of the family.

        Example:

        >>> import hier_keras as hk
        >>> model = hk.models.HierarchicalCNN.from_preset(
        ...     "small_fashion_mnist", head="parallel")
        >>> sorted(model(np.zeros((1, 28, 28, 1))).keys())
        ['coarse', 'fine', 'medium']
        """
        if hierarchy is not None:
            overrides["hierarchy"] = hierarchy
        if input_shape is not None:
            overrides["input_shape"] = list(input_shape)
        kind, found = resolve_preset(cls, preset)
        if kind == "architecture":
            found.update(overrides)
            found.setdefault("name", f"{cls.family_key or cls.__name__.lower()}_{preset}")
            return cls(**found)
        return load_preset(found, cls=cls, load_weights=load_weights, **overrides)

    def save_to_preset(self, directory, metrics=None, overwrite=False, saved_model=None,
                       **metadata):
        """Write `config.json`, `model.weights.h5` and `metadata.json` (with sha256s), atomically.

        Args:
            directory: target folder (created; written in a temporary sibling
                folder and renamed into place).
            metrics: optional dict (or one-row DataFrame) of measured metrics,
                stored in the metadata with the split they were measured on.
            overwrite: replace an existing non-empty folder. Defaults to `False`
                (an error says so).
            saved_model: path of a SavedModel just exported from this model
                (`model.export(path)`), copied in as `saved_model/`.
            **metadata: more metadata (`dataset`, `command`, `split`, ...).
        """
        if metrics is not None:
            if hasattr(metrics, "to_dict"):
                metrics = metrics.iloc[0].to_dict() if len(metrics) == 1 else metrics.to_dict()
            metadata["metrics"] = {k: float(v) for k, v in dict(metrics).items()
                                   if isinstance(v, (int, float, np.number)) and v == v}
        return preset_files.write_preset_dir(self, directory, metadata, overwrite=overwrite,
                                             saved_model=saved_model)

    def export(self, filepath, format="tf_saved_model", verbose=False, **kwargs):
        """Export a serving artifact (TF SavedModel) that takes raw images.

        The serving endpoint `serve` takes float32 images
        `(batch, *input_shape)` and returns the per-level probabilities.
        """
        if format == "tf_saved_model" and "input_signature" not in kwargs:
            kwargs["input_signature"] = [
                keras.InputSpec(shape=(None,) + self.image_shape, dtype="float32")
            ]
        return super().export(filepath, format=format, verbose=verbose, **kwargs)


def _per_channel(value, channels, what):
    arr = np.asarray(value, np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, channels)
    if arr.size != channels:
        raise ValueError(f"`{what}` needs 1 or {channels} values; received {arr.size}.")
    return [float(v) for v in arr]
