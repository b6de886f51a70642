"""Custom layers shared by the families."""

from hier_keras.layers.tree_decoding import beam_search, greedy_decode
from hier_keras.layers.visual_lstm import VisualLSTMCell

__all__ = ["VisualLSTMCell", "beam_search", "greedy_decode"]
