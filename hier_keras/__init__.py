"""hier_keras: Keras 3 model zoo for hierarchical image classification."""

__version__ = "0.1.0"

from hier_keras.hierarchy import Hierarchy  # noqa: E402

__all__ = ["Hierarchy", "__version__"]
