"""Custom layers shared by the families."""

from hier_keras.layers.converters import (
    ConvConverter,
    ModeProductConverter,
    PoolConverter,
    conv_conversion_choices,
    mode_shape_for,
    pool_conversion_choices,
)
from hier_keras.layers.tree_decoding import beam_search, greedy_decode
from hier_keras.layers.visual_lstm import VisualLSTMCell

__all__ = ["VisualLSTMCell", "beam_search", "greedy_decode", "ModeProductConverter",
           "ConvConverter", "PoolConverter", "conv_conversion_choices", "pool_conversion_choices",
           "mode_shape_for"]
