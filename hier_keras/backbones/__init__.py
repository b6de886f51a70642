"""Backbones: registered CNNs that expose their stage outputs.

Example:

>>> import hier_keras as hk
>>> "wrn28_10" in hk.backbones.list_backbones()
True
"""

from hier_keras.backbones.registry import (
    BackboneSpec,
    build_backbone,
    get_backbone_spec,
    list_backbones,
    register_backbone,
)
from hier_keras.backbones import plain, wide_resnet  # noqa: F401  (registers)

__all__ = [
    "BackboneSpec", "build_backbone", "get_backbone_spec", "list_backbones",
    "register_backbone",
]
