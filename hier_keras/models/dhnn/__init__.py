from hier_keras.models.dhnn.dhnn import DHNN

__all__ = ["DHNN"]
