"""hier_keras: Keras 3 model zoo for hierarchical image classification.

Example:

>>> import hier_keras as hk
>>> tree = hk.Hierarchy.fashion_mnist()
>>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist")
>>> model.hierarchy == tree
True
"""

__version__ = "0.1.0"

from hier_keras.hierarchy import Hierarchy  # noqa: E402
from hier_keras import backbones, data, layers, losses, metrics, models, training  # noqa: E402,F401

__all__ = ["Hierarchy", "backbones", "data", "layers", "losses", "metrics", "models",
           "training", "__version__"]
