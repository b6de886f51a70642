"""`Backbone`: the seam every family builds on (a KerasHub-style backbone object).

A `Backbone` is a functional `keras.Model` whose outputs are a dict of named
stage maps, `{"stage_1": ..., ..., "stage_k": ..., "features": vector}`, with
`num_features` (the size of `features`) and `stage_names`. Families use it in
three ways (as timm's and KerasHub's backbones hand out their stages):

- call it and read `features` (HierarchicalCNN, CNN-RNN) or a stage map
  (MinPoolNet's class-map head, C-HRNN's grid, DHNN's taps);
- `copy_stages(x, start, stop, prefix)` / `copy_pool(x, prefix)`: fresh,
  untrained copies of some stages on any tensor, which is how MergedCNN shares
  the first `k` stages and gives each level its own copy of the rest.

A backbone is built from the registry by name (`Backbone.from_name`, or
`get_backbone`, which every family calls on its `backbone=` argument) and
serializes as its constructor arguments, so a family stores it nested in its
own config, as KerasHub tasks store theirs.

Example:

>>> import hier_keras as hk
>>> net = hk.backbones.Backbone.from_name("small", (28, 28, 1), widths=(4, 8, 8))
>>> net.stage_names, net.num_features
(['stage_1', 'stage_2', 'stage_3'], 8)
>>> again = hk.backbones.Backbone.from_config(net.get_config())
>>> again.count_params() == net.count_params()
True
"""

from __future__ import annotations

import copy
import json
import os

import keras

from hier_keras.backbones.registry import BackboneSpec, get_backbone_spec

FEATURES = "features"
APPLICATIONS_PREFIX = "keras.applications."
HUB_PREFIX = "keras_hub:"


def stage_name(k: int) -> str:
    """Output name of stage `k` (1-based): `"stage_k"`."""
    return f"stage_{k}"


@keras.saving.register_keras_serializable(package="hier_keras")
class Backbone(keras.Model):
    """A registered CNN as a functional model with named stage outputs.

    Args:
        architecture: a registered backbone name (`hk.backbones.list_backbones()`).
        input_shape: `(height, width, channels)` of the (normalised) images.
        architecture_kwargs: dict forwarded to the architecture's builder
            (for example `{"widths": [16, 32, 64]}` for `"small"`).
            Defaults to the builder's defaults.
        include_features: build the pooling head and the `features` output.
            Families that read only stage maps (C-HRNN) pass `False`, so the
            head's weights are not created. Defaults to `True`.
        name: model name; also the prefix of every layer name (`<name>_s1_...`).
            Defaults to `architecture`.

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> net = hk.backbones.Backbone("small", (28, 28, 1), {"widths": [4, 8, 8]})
    >>> out = net(np.zeros((2, 28, 28, 1)))
    >>> sorted(out), tuple(out["stage_2"].shape)
    (['features', 'stage_1', 'stage_2', 'stage_3'], (2, 7, 7, 8))
    """

    def __init__(self, architecture, input_shape, architecture_kwargs=None,
                 include_features=True, name=None, **kwargs):
        architecture_kwargs = copy.deepcopy(dict(architecture_kwargs or {}))
        spec = get_backbone_spec(architecture, **architecture_kwargs)
        prefix = name or architecture
        input_shape = tuple(int(d) for d in input_shape)
        # === Functional Model ===
        inputs = keras.Input(input_shape, name=f"{prefix}_input")
        x, outputs = inputs, {}
        for k, stage in enumerate(spec.stages, start=1):
            x = stage(x, f"{prefix}_s{k}")
            outputs[stage_name(k)] = x
        if include_features:
            outputs[FEATURES] = spec.pool(x, f"{prefix}_pool")
        super().__init__(inputs, outputs, name=prefix, **kwargs)
        # === Config ===
        self.architecture = architecture
        self.architecture_kwargs = architecture_kwargs
        self.backbone_input_shape = input_shape
        self.include_features = bool(include_features)
        self.spec: BackboneSpec = spec

    # ----------------------------------------------------------- stage interface
    @property
    def stage_names(self) -> list[str]:
        """`["stage_1", ..., "stage_k"]`, finest resolution first."""
        return [stage_name(k) for k in range(1, self.spec.num_stages + 1)]

    @property
    def num_stages(self) -> int:
        return self.spec.num_stages

    @property
    def num_features(self) -> int:
        """Size of the pooled `features` vector."""
        if not self.include_features:
            raise ValueError(f"Backbone {self.name!r} was built with include_features=False.")
        return int(self.output[FEATURES].shape[-1])

    def stage_shape(self, stage) -> tuple:
        """Output shape `(None, h, w, c)` of a stage (name or 1-based index)."""
        key = stage if isinstance(stage, str) else stage_name(int(stage))
        return tuple(self.output[key].shape)

    def copy_stages(self, x, start: int, stop: int, prefix: str, copy_weights=False):
        """Apply fresh copies of stages `start + 1 .. stop` (0-based slice) to tensor `x`.

        Layer names are `<prefix>_s<k>_...`; the copies share no variables with
        this backbone or with each other. They start freshly initialised, or
        from this backbone's weights with `copy_weights=True` (for pretrained
        weights).
        """
        if not 0 <= start <= stop <= self.num_stages:
            raise ValueError(f"Stages {start}..{stop} are outside 0..{self.num_stages} of "
                             f"backbone {self.name!r}.")
        for s in range(start, stop):
            x = self.spec.stages[s](x, f"{prefix}_s{s + 1}")
            if copy_weights:
                source, target = f"{self.name}_s{s + 1}_", f"{prefix}_s{s + 1}_"
                for layer in _layers_of(x):
                    if layer.weights and layer.name.startswith(target):
                        original = self.get_layer(source + layer.name[len(target):])
                        layer.set_weights(original.get_weights())
        return x

    def copy_pool(self, x, prefix: str):
        """A fresh copy of the pooling head on the last stage's map `x`."""
        return self.spec.pool(x, f"{prefix}_pool")

    def splittable_stages(self) -> list[int]:
        """Stage counts `k` after which MergedCNN can split (`merge-k`): all of them here."""
        return list(range(self.num_stages + 1))

    @property
    def normalization(self):
        """How the family normalises images for this backbone: `None` (its own mean/std)."""
        return None

    # ----------------------------------------------------------- config
    @classmethod
    def from_model(cls, model, input_shape=None, stage_layers=None, preprocessing=None,
                   include_features=True, name=None):
        """Wrap a functional Keras model (see `FunctionalBackbone`).

        `input_shape` defaults to the model's own input shape.
        """
        from hier_keras.backbones.external import FunctionalBackbone

        if input_shape is None:
            input_shape = tuple(model.inputs[0].shape[1:])
        return FunctionalBackbone(model, input_shape, stage_layers, preprocessing,
                                  include_features, name)

    @classmethod
    def from_name(cls, architecture, input_shape, name=None, include_features=True, **kwargs):
        """Build a registered architecture: `Backbone.from_name("wrn28_10", (32, 32, 3))`."""
        return cls(architecture, input_shape, kwargs, include_features=include_features,
                   name=name)

    def get_config(self):
        return {
            "architecture": self.architecture,
            "input_shape": list(self.backbone_input_shape),
            # Through JSON: Keras tracks the dict, and deep-copying a tracked dict saves the model.
            "architecture_kwargs": json.loads(json.dumps(self.architecture_kwargs)),
            "include_features": self.include_features,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        trainable = config.pop("trainable", True)
        model = cls(**config)
        model.trainable = trainable
        return model


def _layers_of(tensor) -> list:
    """Every layer upstream of a symbolic tensor (for weight copies)."""
    seen, order, todo = set(), [], [tensor]
    while todo:
        t = todo.pop()
        history = getattr(t, "_keras_history", None)
        if history is None:
            continue
        layer = history[0]
        if id(layer) not in seen:
            seen.add(id(layer))
            order.append(layer)
            node = layer._inbound_nodes[history[1]]
            todo.extend(node.input_tensors)
    return order


def get_backbone(backbone, input_shape, backbone_kwargs=None, include_features=True,
                 name=None, weights=None) -> Backbone:
    """The `Backbone` a family's `backbone=` argument stands for.

    Args:
        backbone: one of
            - a registered name (`"small"`, `"wrn28_10"`; `list_backbones()`);
            - `"keras.applications.<Name>"` (any keras.applications model,
              built with `include_top=False`);
            - `"keras_hub:<preset name or local preset directory>"`, or the
              path of a local KerasHub preset directory itself (needs
              `pip install "hier_keras[hub]"`);
            - a `Backbone`, any functional `keras.Model` (a keras.applications
              model, a KerasHub `Backbone`, your own), wrapped with
              `Backbone.from_model` (stages found automatically);
            - a serialized backbone (what a family's `get_config()` stores).
        input_shape: the images' `(height, width, channels)`.
        backbone_kwargs: builder arguments. With a registered name, the
            architecture's kwargs; with a serialized registry backbone, they
            update its kwargs (how `from_preset(..., backbone_kwargs=...)`
            shrinks a saved preset); with a Keras model, `Backbone.from_model`
            arguments (`stage_layers`, `preprocessing`).
        include_features: see `Backbone`.
        name: model name (layer prefix) for a backbone built here.
        weights: `None`, `"imagenet"` (keras.applications names only) or the
            path of a weights file (`hk.backbones.load_backbone_weights`).

    Raises:
        ValueError: unknown name, a `Backbone` built for another input shape,
            or weights that do not fit.
    """
    from hier_keras.backbones import external

    kwargs = dict(backbone_kwargs or {})
    path_weights = weights if weights not in (None, "imagenet") else None
    if isinstance(backbone, str) and backbone.startswith(APPLICATIONS_PREFIX):
        if kwargs:
            raise ValueError("`backbone_kwargs` do not apply to keras.applications models.")
        net = external.from_keras_applications(
            backbone[len(APPLICATIONS_PREFIX):], input_shape,
            weights="imagenet" if weights == "imagenet" else None,
            include_features=include_features)
    elif weights == "imagenet":
        raise ValueError(
            "backbone_weights='imagenet' needs a keras.applications backbone "
            "(backbone='keras.applications.<Name>'); for other backbones pass the path of a "
            "weights file.")
    elif isinstance(backbone, str) and backbone.startswith(HUB_PREFIX):
        net = external.from_keras_hub(backbone[len(HUB_PREFIX):], input_shape,
                                      include_features=include_features)
    elif isinstance(backbone, str) and os.path.isfile(os.path.join(backbone, "config.json")):
        net = external.from_keras_hub(backbone, input_shape,  # a local KerasHub preset dir
                                      include_features=include_features)
    elif isinstance(backbone, Backbone):
        if kwargs:
            raise ValueError("`backbone_kwargs` apply to a backbone built by name; a `Backbone` "
                             "instance is used as it is. Build it with those arguments instead.")
        if tuple(backbone.backbone_input_shape) != tuple(input_shape):
            raise ValueError(
                f"The backbone {backbone.name!r} takes images of shape "
                f"{tuple(backbone.backbone_input_shape)}, the model {tuple(input_shape)}; build "
                "the backbone with the model's `input_shape`.")
        net = backbone
    elif isinstance(backbone, keras.Model):
        if external.is_keras_hub_backbone(backbone):
            net = external.from_keras_hub(backbone, input_shape, include_features)
        else:
            net = external.FunctionalBackbone(backbone, input_shape,
                                              include_features=include_features, **kwargs)
    elif isinstance(backbone, dict):
        config = dict(backbone.get("config", backbone))
        config["input_shape"] = list(input_shape)
        config["include_features"] = include_features
        if backbone.get("class_name", "Backbone") == "Backbone":
            config["architecture_kwargs"] = {**dict(config.get("architecture_kwargs") or {}),
                                             **kwargs}
            net = Backbone.from_config(config)
        else:
            if kwargs:
                raise ValueError("`backbone_kwargs` apply to registered backbones only.")
            net = external.FunctionalBackbone.from_config(config)
    elif isinstance(backbone, str):
        net = Backbone(backbone, input_shape, kwargs, include_features=include_features,
                       name=name)
    else:
        raise TypeError(
            "`backbone` must be a registered name, 'keras.applications.<Name>', "
            "'keras_hub:<preset>', a `hk.backbones.Backbone`, a functional keras.Model or a "
            f"serialized backbone; received {type(backbone).__name__}.")
    if path_weights is not None:
        from hier_keras.backbones.weights import load_backbone_weights

        load_backbone_weights(net, path_weights)
    return net


def serialize_backbone(backbone: Backbone) -> dict:
    """What a family stores under `"backbone"` in its config."""
    return keras.saving.serialize_keras_object(backbone)


def build_backbone(name: str, input_shape, prefix: str | None = None, **kwargs) -> Backbone:
    """`Backbone(name, input_shape, kwargs, name=prefix)`: image -> `{"stage_1": ..., "features": ...}`.

    Example:

    >>> import hier_keras as hk
    >>> net = hk.backbones.build_backbone("small", (28, 28, 1))
    >>> sorted(net.output.keys())
    ['features', 'stage_1', 'stage_2', 'stage_3']
    """
    return Backbone(name, input_shape, kwargs, name=prefix)
