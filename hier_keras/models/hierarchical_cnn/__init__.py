from hier_keras.models.hierarchical_cnn.hierarchical_cnn import HierarchicalCNN

__all__ = ["HierarchicalCNN"]
