"""hier_keras: Keras 3 model zoo for hierarchical image classification.

Example:

>>> import hier_keras as hk
>>> tree = hk.Hierarchy.fashion_mnist()
>>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist")
>>> model.hierarchy == tree
True
"""

__version__ = "0.1.0"

import importlib  # noqa: E402

from hier_keras.hierarchy import Hierarchy  # noqa: E402
from hier_keras import (  # noqa: E402,F401
    backbones, data, layers, losses, metrics, models, optimizers, outputs, paths, presets,
    training,
)

#: Subpackages imported on first use (keras-tuner loads only when tuning is used).
_LAZY = ("tuning", "cli")

__all__ = ["Hierarchy", "backbones", "data", "layers", "losses", "metrics", "models",
           "optimizers", "outputs", "paths", "presets", "training", "tuning", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"hier_keras.{name}")
    raise AttributeError(f"module 'hier_keras' has no attribute {name!r}")
