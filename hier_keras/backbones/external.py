"""`FunctionalBackbone`: any functional Keras model as a hier_keras backbone.

A keras.applications model (`include_top=False`), a KerasHub backbone or a
user's own functional model becomes a `Backbone` with the same stage interface
as the registered ones: outputs `stage_1 ... stage_k` (the layers the user
names, or the last layer at each spatial resolution), `features` (global
average pooling of the last stage, or the model's own vector output), and
`copy_stages` for MergedCNN (the layers between two stages cloned with fresh
weights, where the graph can be cut there).

Input adaptation runs inside the graph, so raw images go in as for every other
model: grayscale images are repeated to 3 channels when the wrapped model takes
3, images are resized to the model's input size when it has one, and the
model's own preprocessing is applied (`preprocessing="caffe" | "tf" | "torch"`,
the modes of keras.applications' `preprocess_input`; `None` for models that
bring their own, such as MobileNetV3 and EfficientNet, whose first layer
rescales 0-255 pixels). A family on such a backbone feeds it raw pixels
(its own mean/std normalisation is switched off).

Example:

>>> import keras, hier_keras as hk, numpy as np
>>> inputs = keras.Input((28, 28, 1))
>>> x = keras.layers.Conv2D(4, 3, strides=2, name="c1")(inputs)
>>> x = keras.layers.Conv2D(8, 3, strides=2, name="c2")(x)
>>> net = hk.backbones.Backbone.from_model(keras.Model(inputs, x), input_shape=(28, 28, 1))
>>> net.stage_names, [net.stage_shape(s)[1] for s in net.stage_names], net.num_features
(['stage_1', 'stage_2'], [13, 6], 8)
"""

from __future__ import annotations

import copy
import json

import keras
import numpy as np
from keras import layers, ops

from hier_keras.backbones.backbone import FEATURES, Backbone, stage_name

#: keras.applications' `preprocess_input` modes, applied to 0-255 RGB pixels.
PREPROCESSING = ("caffe", "tf", "torch")
_CAFFE_MEAN = [103.939, 116.779, 123.68]  # BGR
_TORCH_MEAN = [0.485, 0.456, 0.406]
_TORCH_STD = [0.229, 0.224, 0.225]


@keras.saving.register_keras_serializable(package="hier_keras")
class ApplicationPreprocessing(layers.Layer):
    """keras.applications' `preprocess_input` as a layer, on 0-255 RGB images.

    Args:
        mode: `"caffe"` (RGB -> BGR, minus the ImageNet mean), `"tf"` (to
            [-1, 1]) or `"torch"` (to [0, 1], then ImageNet mean/std).

    Example:

    >>> import numpy as np
    >>> ApplicationPreprocessing("tf")(np.full((1, 1, 1, 3), 255.0, "float32")).numpy().ravel()
    array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING:
            raise ValueError(f"Unknown preprocessing {mode!r}; use one of {PREPROCESSING} "
                             "or None.")
        self.mode = mode

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            return (x / 255.0 - ops.convert_to_tensor(_TORCH_MEAN, x.dtype)) / \
                ops.convert_to_tensor(_TORCH_STD, x.dtype)
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(_CAFFE_MEAN, x.dtype)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def find_stages(model) -> list[str]:
    """Names of the last layer at each spatial resolution of a functional model.

    Layers are walked in the model's (topological) order; a resolution counts
    once the feature map is at least as small as it has been (padding layers
    that enlarge it for a moment are skipped), and only resolutions at which a
    layer with weights ran (an input rescaling at full size is no stage).
    """
    last, weighted, current = {}, set(), None
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) != 4 or shape[1] is None:
            continue
        size = int(shape[1])
        if current is None or size <= current:
            current = size
            last[size] = layer.name
            if layer.weights:
                weighted.add(size)
    names = [last[s] for s in sorted(last, reverse=True) if s in weighted]
    if not names:
        raise ValueError(f"Model {model.name!r} has no 4-D feature map to use as a stage; "
                         "a backbone must output (batch, height, width, channels) maps.")
    return names


@keras.saving.register_keras_serializable(package="hier_keras")
class FunctionalBackbone(Backbone):
    """A functional Keras model wrapped with stage outputs and input adaptation.

    Build it with `Backbone.from_model(model, ...)` or through a family's
    `backbone=` argument (which also takes `"keras.applications.<Name>"` and
    `"keras_hub:<preset or directory>"`).

    Args:
        model: a functional `keras.Model`, or its serialization.
        input_shape: `(height, width, channels)` of the images the family takes.
        stage_layers: names of the layers whose outputs are the stages,
            finest first. Defaults to `find_stages(model)`.
        preprocessing: `None`, `"caffe"`, `"tf"` or `"torch"` (see the module
            docstring). Defaults to `None`.
        include_features: build the `features` output. Defaults to `True`.
        name: model name. Defaults to the wrapped model's name.
        normalization: what the family does to raw images before this
            backbone: `None` (its preset's mean/std), `"raw"` (nothing: the
            backbone normalises 0-255 pixels itself) or `{"mean": [...],
            "std": [...]}` in pixel units. Defaults to `"raw"` when
            `preprocessing` is set, else `None`.
    """

    def __init__(self, model, input_shape, stage_layers=None, preprocessing=None,
                 include_features=True, name=None, normalization=None, **kwargs):
        if isinstance(model, dict):
            if str(model.get("module", "")).startswith("keras_hub"):
                import_keras_hub()  # registers KerasHub's classes for deserialization
            model = keras.saving.deserialize_keras_object(copy.deepcopy(model))
        if not isinstance(model, keras.Model) or not hasattr(model, "inputs") or \
                model.inputs is None:
            raise TypeError(f"`model` must be a functional keras.Model; received "
                            f"{type(model).__name__}.")
        if preprocessing is not None and preprocessing not in PREPROCESSING:
            raise ValueError(f"Unknown preprocessing {preprocessing!r}; use one of "
                             f"{PREPROCESSING} or None.")
        stage_layers = list(stage_layers) if stage_layers else find_stages(model)
        for layer_name in stage_layers:
            _layer(model, layer_name)
        input_shape = tuple(int(d) for d in input_shape)
        prefix = name or model.name
        # === Functional Model ===
        inputs = keras.Input(input_shape, name=f"{prefix}_input")
        plan = _adaptation_plan(model, input_shape, preprocessing)
        x = _adapt(inputs, plan, prefix)
        taps = keras.Model(model.inputs, [_layer(model, n).output for n in stage_layers],
                           name=f"{prefix}_stages")
        maps = taps(x)
        maps = maps if isinstance(maps, (list, tuple)) else [maps]
        outputs = {stage_name(k): m for k, m in enumerate(maps, start=1)}
        if include_features:
            outputs[FEATURES] = self._pool(maps[-1], prefix)
        super(Backbone, self).__init__(inputs, outputs, name=prefix, **kwargs)
        # === Config ===
        if normalization is None and (preprocessing is not None or _rescales_itself(model)):
            normalization = "raw"
        if normalization not in (None, "raw") and not (
                isinstance(normalization, dict) and {"mean", "std"} <= set(normalization)):
            raise ValueError(f"`normalization` must be None, 'raw' or {{'mean': ..., 'std': ...}}; "
                             f"received {normalization!r}.")
        self._normalization = normalization
        self._adaptation = plan
        self._model_json = json.dumps(keras.saving.serialize_keras_object(model))
        self.stage_layers = stage_layers
        self.preprocessing = preprocessing
        self.backbone_input_shape = input_shape
        self.include_features = bool(include_features)
        self.architecture = model.name
        self._source = _Untracked(model)  # its layers are tracked once, through `taps`

    # ----------------------------------------------------------- graph pieces
    @staticmethod
    def _pool(x, prefix):
        if len(x.shape) == 4:
            return layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)
        return x

    # ----------------------------------------------------------- stage interface
    @property
    def stage_names(self) -> list[str]:
        return [stage_name(k) for k in range(1, len(self.stage_layers) + 1)]

    @property
    def num_stages(self) -> int:
        return len(self.stage_layers)

    @property
    def normalization(self):
        return self._normalization

    def splittable_stages(self) -> list[int]:
        """Stage counts `k` at which the graph can be cut (MergedCNN `merge-k`)."""
        n, ok = self.num_stages, [0]
        for k in range(1, n):
            try:
                self._segment(0, k)
                self._segment(k, n)
            except ValueError:
                continue
            ok.append(k)
        return ok + [n]  # merge-n shares every stage: nothing to cut

    def _segment(self, start, stop):
        """A model of the wrapped layers between stage `start` and stage `stop` (1-based)."""
        model = self._source.model
        begin = model.inputs if start == 0 else _layer(model, self.stage_layers[start - 1]).output
        end = _layer(model, self.stage_layers[stop - 1]).output
        try:
            return keras.Model(begin, end)
        except Exception as err:  # Keras raises ValueError/KeyError on a cut through a branch
            raise ValueError(str(err)) from err

    def copy_stages(self, x, start: int, stop: int, prefix: str, copy_weights=True):
        """Fresh copies of the wrapped layers of stages `start + 1 .. stop` applied to `x`.

        A copy from stage 0 begins with the input adaptation. The copies start
        from this backbone's weights (pretrained ones stay pretrained in every
        tower) unless `copy_weights=False`.
        """
        if not 0 <= start <= stop <= self.num_stages:
            raise ValueError(f"Stages {start}..{stop} are outside 0..{self.num_stages} of "
                             f"backbone {self.name!r}.")
        if start == stop:
            return x
        if start == 0:
            x = _adapt(x, self._adaptation, prefix)
        try:
            segment = self._segment(start, stop)
        except ValueError as err:
            raise ValueError(
                f"The backbone {self.name!r} cannot be split after stage {start}: a branch of "
                f"its graph crosses that point. It splits after stages "
                f"{self.splittable_stages()} (MergedCNN topologies 'merge-k' for those k)."
            ) from err

        def fresh(layer):
            config = layer.get_config()
            config["name"] = f"{prefix}_{layer.name}"
            return layer.__class__.from_config(config)

        clone = keras.models.clone_model(segment, clone_function=fresh)
        if copy_weights:
            clone.set_weights(segment.get_weights())
        return clone(x)

    def copy_pool(self, x, prefix: str):
        return self._pool(x, prefix)

    # ----------------------------------------------------------- config
    def get_config(self):
        return {
            "model": json.loads(self._model_json),
            "input_shape": list(self.backbone_input_shape),
            "stage_layers": list(self.stage_layers),
            "preprocessing": self.preprocessing,
            "include_features": self.include_features,
            "name": self.name,
            "normalization": self._normalization,
            "trainable": self.trainable,
        }


def _rescales_itself(model) -> bool:
    """Whether the model's first layer rescales raw pixels (keras.applications' MobileNetV3,
    EfficientNet and ConvNeXt start with `Rescaling`)."""
    first = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return bool(first) and isinstance(first[0], (layers.Rescaling, layers.Normalization))


class _Untracked:
    """Holds the wrapped model without Keras tracking it a second time."""

    def __init__(self, model):
        self.model = model


def _adapt(x, plan, prefix):
    """Fresh input-adaptation layers: gray -> RGB, resize, the model's preprocessing."""
    if plan["repeat_channels"]:
        x = layers.Concatenate(axis=-1, name=f"{prefix}_to_rgb")([x, x, x])
    if plan["resize"]:
        x = layers.Resizing(*plan["resize"], name=f"{prefix}_resize")(x)
    if plan["preprocessing"]:
        x = ApplicationPreprocessing(plan["preprocessing"], name=f"{prefix}_preprocess")(x)
    return x


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"Model {model.name!r} has no layer {name!r}; its layers include "
                         f"{names[:5]} ... {names[-5:]}.") from None


def _adaptation_plan(model, input_shape, preprocessing):
    want = tuple(model.inputs[0].shape[1:])
    if len(want) != 3:
        raise ValueError(f"The backbone {model.name!r} takes inputs of shape {want}, not images "
                         "(height, width, channels).")
    repeat = input_shape[-1] == 1 and want[-1] == 3
    if not repeat and want[-1] is not None and want[-1] != input_shape[-1]:
        raise ValueError(f"The backbone {model.name!r} takes {want[-1]} channels, the images "
                         f"have {input_shape[-1]}; give images with {want[-1]} channels.")
    resize = None
    if want[0] is not None and want[1] is not None and tuple(want[:2]) != input_shape[:2]:
        resize = (int(want[0]), int(want[1]))
    return {"repeat_channels": repeat, "resize": resize, "preprocessing": preprocessing}


#: `preprocess_input` mode of each keras.applications family (by function name prefix);
#: the others (MobileNetV3, EfficientNet, EfficientNetV2, ConvNeXt) preprocess inside.
APPLICATION_PREPROCESSING = {
    "ResNet50V2": "tf", "ResNet101V2": "tf", "ResNet152V2": "tf",
    "ResNet": "caffe", "VGG": "caffe", "DenseNet": "torch", "MobileNetV3": None,
    "MobileNet": "tf", "Inception": "tf", "Xception": "tf", "NASNet": "tf",
}
#: The smallest input side keras.applications accepts for most models.
MIN_APPLICATION_SIZE = 32


def application_preprocessing(name: str):
    """The `preprocess_input` mode of a keras.applications model name (`None`: built in)."""
    for prefix, mode in APPLICATION_PREPROCESSING.items():
        if name.startswith(prefix):
            return mode
    return None


def from_keras_applications(name, input_shape, weights=None, include_features=True):
    """`FunctionalBackbone` of `keras.applications.<name>(include_top=False)`.

    Images smaller than 32 px are upsampled to 32 inside the graph; grayscale
    images are repeated to RGB.

    Raises:
        ValueError: an unknown name, or `weights="imagenet"` with no network
            (the message says how to use a local weights file instead).
    """
    builder = getattr(keras.applications, name, None)
    if builder is None or not callable(builder):
        names = sorted(n for n in dir(keras.applications) if n[:1].isupper())
        raise ValueError(f"keras.applications has no model {name!r}; available: {names}.")
    h, w = (max(int(d), MIN_APPLICATION_SIZE) for d in input_shape[:2])
    try:
        model = builder(include_top=False, weights=weights, input_shape=(h, w, 3))
    except Exception as err:  # noqa: BLE001 - offline downloads fail in many ways
        if weights == "imagenet":
            raise ValueError(
                f"Could not get the ImageNet weights of keras.applications.{name} ({err}). "
                "Without a network, download the weights file elsewhere (the `*_notop.h5` "
                "file keras.applications fetches) and pass `backbone_weights=PATH`."
            ) from err
        raise
    # Models with preprocessing built in (MobileNetV3, EfficientNet, ...) take raw pixels too.
    return FunctionalBackbone(model, input_shape, preprocessing=application_preprocessing(name),
                              include_features=include_features, normalization="raw")


def from_keras_hub(spec, input_shape, include_features=True):
    """`FunctionalBackbone` of a KerasHub backbone: a preset name or a local preset directory.

    Needs the optional extra: `pip install "hier_keras[hub]"`.
    """
    keras_hub = import_keras_hub()
    normalization = None
    if isinstance(spec, str):
        model = keras_hub.models.Backbone.from_preset(spec)
        normalization = _converter_normalization(keras_hub, spec)
    else:
        model = spec
    stages = None
    pyramid = getattr(model, "pyramid_outputs", None)
    if pyramid:
        stages = [t._keras_history[0].name for _, t in sorted(pyramid.items())]
    return FunctionalBackbone(model, input_shape, stage_layers=stages,
                              include_features=include_features, normalization=normalization)


def _converter_normalization(keras_hub, spec):
    """Mean/std (pixel units) of a KerasHub preset's image converter, `None` without one.

    The converter computes `x * scale + offset`, which is `(x - mean) / std` with
    `std = 1 / scale` and `mean = -offset / scale`.
    """
    try:
        converter = keras_hub.layers.ImageConverter.from_preset(spec)
    except (ValueError, FileNotFoundError, OSError):
        return None
    scale = np.asarray(converter.scale if converter.scale is not None else 1.0, np.float64)
    offset = np.asarray(converter.offset if converter.offset is not None else 0.0, np.float64)
    scale, offset = np.broadcast_arrays(scale.reshape(-1), offset.reshape(-1))
    return {"mean": (-offset / scale).tolist(), "std": (1.0 / scale).tolist()}


def import_keras_hub():
    """`keras_hub`, or an ImportError that names the extra to install."""
    try:
        import keras_hub
    except ImportError as err:
        raise ImportError(
            "KerasHub backbones need the optional extra: `pip install \"hier_keras[hub]\"` "
            "(or `pip install keras-hub`)."
        ) from err
    return keras_hub


def is_keras_hub_backbone(obj) -> bool:
    """Whether `obj` is a KerasHub `Backbone` (without importing keras_hub)."""
    return any(c.__module__.startswith("keras_hub") for c in type(obj).__mro__)
