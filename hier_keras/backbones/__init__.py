"""Backbones: registered CNNs as `Backbone` models that expose their stage outputs.

Every module of this package registers its backbones on import (all are
imported here), so `list_backbones()` always shows the full set.

Example:

>>> import hier_keras as hk
>>> "wrn28_10" in hk.backbones.list_backbones()
True
"""

import importlib
import pkgutil

from hier_keras.backbones.backbone import (
    Backbone,
    build_backbone,
    get_backbone,
    serialize_backbone,
)
from hier_keras.backbones.external import (
    ApplicationPreprocessing,
    FunctionalBackbone,
    find_stages,
)
from hier_keras.backbones.registry import (
    BackboneSpec,
    get_backbone_spec,
    list_backbones,
    register_backbone,
)
from hier_keras.backbones.weights import load_backbone_weights, save_weights_by_name

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("registry", "blocks", "backbone", "external", "weights"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "ApplicationPreprocessing", "Backbone", "BackboneSpec", "FunctionalBackbone",
    "build_backbone", "find_stages", "get_backbone", "get_backbone_spec", "list_backbones",
    "load_backbone_weights", "register_backbone", "save_weights_by_name", "serialize_backbone",
]
