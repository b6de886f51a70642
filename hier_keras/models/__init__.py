"""Model families. Each is a `keras.Model` subclass with `from_preset()`.

Importing this package registers every family (`get_family`, `list_families`).

Example:

>>> import hier_keras as hk
>>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist")
>>> model.level_names
['coarse', 'medium', 'fine']
>>> hk.models.list_families()
['CHRNN', 'CNNRNN', 'DHNN', 'Ensemble', 'HierarchicalCNN', 'MergedCNN', 'MinPoolNet']
"""

from hier_keras.models.base import HierarchicalModel
from hier_keras.models.chrnn import CHRNN
from hier_keras.models.cnnrnn import CNNRNN
from hier_keras.models.dhnn import DHNN
from hier_keras.models.ensemble import Ensemble
from hier_keras.models.hierarchical_cnn import HierarchicalCNN
from hier_keras.models.mergedcnn import MergedCNN
from hier_keras.models.minpoolnet import MinPoolNet
from hier_keras.models.registry import get_family, list_families, register_family
from hier_keras.presets.loading import load_preset

__all__ = ["HierarchicalModel", "HierarchicalCNN", "CNNRNN", "DHNN", "MinPoolNet", "MergedCNN",
           "CHRNN", "Ensemble", "get_family", "list_families", "load_preset", "register_family"]
