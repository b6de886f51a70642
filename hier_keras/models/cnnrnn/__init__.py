from hier_keras.models.cnnrnn.cnnrnn import CNNRNN

__all__ = ["CNNRNN"]
