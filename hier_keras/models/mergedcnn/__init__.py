from hier_keras.models.mergedcnn.mergedcnn import MergedCNN, parse_topology

__all__ = ["MergedCNN", "parse_topology"]
