"""Model families. Each is a `keras.Model` subclass with `from_preset()`.

Example:

>>> import hier_keras as hk
>>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist")
>>> model.level_names
['coarse', 'medium', 'fine']
"""

from hier_keras.models.base import HierarchicalModel, load_preset
from hier_keras.models.chrnn import CHRNN
from hier_keras.models.cnnrnn import CNNRNN
from hier_keras.models.dhnn import DHNN
from hier_keras.models.ensemble import Ensemble
from hier_keras.models.hierarchical_cnn import HierarchicalCNN
from hier_keras.models.mergedcnn import MergedCNN
from hier_keras.models.minpoolnet import MinPoolNet

__all__ = ["HierarchicalModel", "HierarchicalCNN", "CNNRNN", "DHNN", "MinPoolNet", "MergedCNN",
           "CHRNN", "Ensemble", "load_preset"]
