"""Backbone registry: every backbone is a list of stages plus a pooling head.

A backbone is described by a :class:`BackboneSpec`: a list of *stage
builders* (functions that apply one stage's freshly created Keras layers to a
tensor) and a *pool* builder that turns the last stage's map into the feature
vector. Families use the spec in two ways:

- `build_backbone(name, input_shape)` gives a functional `keras.Model` whose
  outputs are a dict `{"stage_1": ..., ..., "features": vector}` (timm's
  "every backbone hands out its intermediate layers"; DHNN taps them).
- `spec.stages[k](x, prefix)` builds a fresh copy of stage `k` on any tensor,
  which is how MergedCNN shares the first stages and copies the rest.

Example:

>>> import hier_keras as hk
>>> net = hk.backbones.build_backbone("small", (28, 28, 1))
>>> sorted(net.output.keys())
['features', 'stage_1', 'stage_2', 'stage_3']
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras

_REGISTRY: dict[str, Callable[..., "BackboneSpec"]] = {}


@dataclasses.dataclass
class BackboneSpec:
    """What a backbone is made of.

    Attributes:
        name: registry name.
        stages: list of callables `(tensor, prefix) -> tensor`, each building
            one stage with new layers whose names start with `prefix`.
        pool: callable `(tensor, prefix) -> vector`, the feature head.
        description: one line for `hier-keras presets`.
        reference: the paper or source the architecture follows.
    """

    name: str
    stages: list
    pool: Callable
    description: str = ""
    reference: str = ""

    @property
    def num_stages(self) -> int:
        return len(self.stages)


def register_backbone(name: str):
    """Decorator: register a function `(**kwargs) -> BackboneSpec` under `name`."""

    def wrap(fn):
        if name in _REGISTRY:
            raise ValueError(f"Backbone {name!r} is registered twice.")
        _REGISTRY[name] = fn
        return fn

    return wrap


def list_backbones() -> list[str]:
    """Names of all registered backbones."""
    return sorted(_REGISTRY)


def get_backbone_spec(name: str, **kwargs) -> BackboneSpec:
    """The :class:`BackboneSpec` of a registered backbone."""
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown backbone {name!r}. Available backbones: {list_backbones()}."
        )
    return _REGISTRY[name](**kwargs)


def build_backbone(name: str, input_shape, prefix: str | None = None, **kwargs) -> keras.Model:
    """A functional model: image -> `{"stage_1": ..., "features": ...}`.

    Args:
        name: a registered backbone name (`list_backbones()`).
        input_shape: `(height, width, channels)` of the (normalised) input.
        prefix: layer-name prefix. Defaults to `name`.
        **kwargs: forwarded to the backbone's builder (e.g. `dropout`).
    """
    spec = get_backbone_spec(name, **kwargs)
    prefix = prefix or name
    inputs = keras.Input(tuple(input_shape), name=f"{prefix}_input")
    x, outputs = inputs, {}
    for k, stage in enumerate(spec.stages, start=1):
        x = stage(x, f"{prefix}_s{k}")
        outputs[f"stage_{k}"] = x
    outputs["features"] = spec.pool(x, f"{prefix}_pool")
    return keras.Model(inputs, outputs, name=prefix)
