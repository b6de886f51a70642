from hier_keras.models.chrnn.chrnn import CHRNN

__all__ = ["CHRNN"]
