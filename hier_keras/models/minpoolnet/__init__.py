from hier_keras.models.minpoolnet.minpoolnet import MinPoolNet

__all__ = ["MinPoolNet"]
