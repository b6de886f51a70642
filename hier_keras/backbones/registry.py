"""Backbone registry: every architecture is a list of stages plus a pooling head.

An architecture is described by a :class:`BackboneSpec`: a list of *stage
builders* (functions that apply one stage's freshly created Keras layers to a
tensor) and a *pool* builder that turns the last stage's map into the feature
vector. `register_backbone` adds a builder under a name (timm's
`register_model`); `hk.backbones.Backbone` (backbone.py) turns a spec into a
functional model with named stage outputs, and copies stages for MergedCNN.

Example:

>>> import hier_keras as hk
>>> spec = hk.backbones.get_backbone_spec("small")
>>> spec.num_stages
3
"""

from __future__ import annotations

import dataclasses
from typing import Callable

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
