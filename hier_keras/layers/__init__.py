"""Custom Keras layers of the package (`hk.layers`).

Shared by the families and usable on their own; each has a paper reference and
a docstring example:

- `VisualLSTMCell` (Guo et al. 2018, eq. 2-7) and the tree decoders
  `greedy_decode` / `beam_search` (`tree_decoding.py`);
- `ModeProductConverter`, `ConvConverter`, `PoolConverter` (Koo et al.,
  Sec. 3.1 and Appendices A/B);
- `SpatialRNN2D`, `HierarchicalRNN2D`, `SpatialPyramidPooling` (Zuo et al. 2016);
- `ClassifierAdaptation` (Dutt et al. 2017, Algorithm 1);
- `ChildMinPooling`, `ClassWiseGlobalAveragePooling` (weak supervision with
  min-pooling, eq. 2-3).

Example:

>>> import hier_keras as hk
>>> layer = hk.layers.ChildMinPooling(hk.Hierarchy.fashion_mnist())
>>> type(layer).__name__
'ChildMinPooling'
"""

from hier_keras.layers.child_min_pooling import (
    ChildMinPooling,
    ClassWiseGlobalAveragePooling,
)
from hier_keras.layers.classifier_adaptation import (
    ClassifierAdaptation,
    adapt_probabilities,
)
from hier_keras.layers.converters import (
    ConvConverter,
    ModeProductConverter,
    PoolConverter,
    conv_conversion_choices,
    make_converter,
    mode_shape_for,
    pool_conversion_choices,
)
from hier_keras.layers.spatial_pyramid_pooling import SpatialPyramidPooling
from hier_keras.layers.spatial_rnn import HierarchicalRNN2D, SpatialRNN2D
from hier_keras.layers.tree_decoding import beam_search, greedy_decode
from hier_keras.layers.visual_lstm import VisualLSTMCell

__all__ = [
    "ChildMinPooling", "ClassWiseGlobalAveragePooling", "ClassifierAdaptation", "ConvConverter",
    "HierarchicalRNN2D", "ModeProductConverter", "PoolConverter", "SpatialPyramidPooling",
    "SpatialRNN2D", "VisualLSTMCell", "adapt_probabilities", "beam_search",
    "conv_conversion_choices", "greedy_decode", "make_converter", "mode_shape_for",
    "pool_conversion_choices",
]
