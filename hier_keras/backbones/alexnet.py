"""AlexNet backbones: `alexnet` (Caffe single-column, 224 px) and `alexnet_small` (32 px).

The min-pooling paper (weak supervision with min-pooling, Sec. V-A) uses both as base nets
and ends each in `N_f` parallel FC36 layers (d = 36 positions per class map);
those layers belong to the family (MinPoolNet's `"fc"` map head), not here.
Both backbones end in a fully connected feature vector:

`alexnet` (Krizhevsky et al. 2012 as in Caffe's `bvlc_alexnet`, one column,
unrestricted connectivity between layers):

    conv11x11/4-96, LRN, maxpool 3/2
    conv5x5-256, LRN, maxpool 3/2
    conv3x3-384, conv3x3-384, conv3x3-256, maxpool 3/2
    FC4096, dropout 0.5, FC4096, dropout 0.5     (FC1000 removed)

`alexnet_small` ("a small scale AlexNet ... 3 convolutional layers instead of
5, one fully connected layer instead of three", the cuda-convnet / Caffe
`cifar10_quick`-style net):

    conv5x5-32, maxpool 3/2, ReLU, LRN
    conv5x5-32, ReLU, avgpool 3/2, LRN
    conv5x5-64, ReLU, avgpool 3/2
    FC1024 (ReLU)      (the paper's replacement of the last FC100)

Our choices where the text is silent: the FC1024 has a ReLU and optional
dropout (default 0); LRN uses Caffe's defaults (`local_size` 5, alpha 1e-4,
beta 0.75 for `alexnet`; 3, 5e-5, 0.75 for `alexnet_small`); pooling uses
Caffe's ceil rounding.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from hier_keras.backbones.blocks import WEIGHT_INIT
from hier_keras.backbones.nin import ceil_pool, conv_relu
from hier_keras.backbones.registry import BackboneSpec, register_backbone


@keras.saving.register_keras_serializable(package="hier_keras")
class LocalResponseNormalization(layers.Layer):
    """Across-channel LRN (Krizhevsky et al. 2012; Caffe's `LRN` layer).

    `y = x / (k + alpha / n * sum_{window of n channels} x^2) ** beta`.

    Args:
        local_size: int. Channels in the window (odd). Defaults to 5.
        alpha, beta, bias: floats of the formula. Defaults to 1e-4, 0.75, 1.0.

    Example:

    >>> import numpy as np
    >>> y = LocalResponseNormalization(3)(np.ones((1, 1, 1, 4), "float32"))
    >>> tuple(y.shape)
    (1, 1, 1, 4)
    """

    def __init__(self, local_size=5, alpha=1e-4, beta=0.75, bias=1.0, **kwargs):
        super().__init__(**kwargs)
        if local_size < 1 or local_size % 2 == 0:
            raise ValueError(f"`local_size` must be a positive odd int; received {local_size}.")
        self.local_size = int(local_size)
        self.alpha, self.beta, self.bias = float(alpha), float(beta), float(bias)

    def call(self, x):
        n, half = self.local_size, self.local_size // 2
        sq = ops.square(x)
        rank = len(x.shape)
        pad = [[0, 0]] * (rank - 1) + [[half + 1, half]]
        cs = ops.cumsum(ops.pad(sq, pad), axis=-1)
        window = cs[..., n:] - cs[..., :-n]
        return x / ops.power(self.bias + self.alpha / n * window, self.beta)

    def get_config(self):
        return super().get_config() | {"local_size": self.local_size, "alpha": self.alpha,
                                       "beta": self.beta, "bias": self.bias}


def _dense(x, units, prefix, dropout):
    x = layers.Dense(units, activation="relu", kernel_initializer=WEIGHT_INIT,
                     name=f"{prefix}_fc")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{prefix}_drop")(x)
    return x


def _fc_pool(units, dropout):
    def pool(x, prefix):
        x = layers.Flatten(name=f"{prefix}_flatten")(x)
        for i, u in enumerate(units):
            x = _dense(x, u, f"{prefix}_{i + 1}", dropout)
        return x

    return pool


@register_backbone("alexnet")
def alexnet(width=1.0, fc_units=(4096, 4096), dropout=0.5):
    """Caffe AlexNet, single column, for 224x224 images; ends in FC4096-FC4096."""
    s = lambda c: max(1, int(round(c * width)))  # noqa: E731

    def stage1(x, prefix):
        x = conv_relu(x, s(96), 11, f"{prefix}_c1", strides=4, padding="valid")
        x = LocalResponseNormalization(5, 1e-4, 0.75, name=f"{prefix}_lrn")(x)
        return ceil_pool(x, "max", 3, 2, prefix)

    def stage2(x, prefix):
        x = conv_relu(x, s(256), 5, f"{prefix}_c1")
        x = LocalResponseNormalization(5, 1e-4, 0.75, name=f"{prefix}_lrn")(x)
        return ceil_pool(x, "max", 3, 2, prefix)

    def stage3(x, prefix):
        for i, c in enumerate([s(384), s(384), s(256)]):
            x = conv_relu(x, c, 3, f"{prefix}_c{i + 1}")
        return ceil_pool(x, "max", 3, 2, prefix)

    return BackboneSpec(
        "alexnet", [stage1, stage2, stage3], _fc_pool(list(fc_units), dropout),
        "AlexNet (Caffe, single column), 224 px, FC4096-FC4096 features",
        "Krizhevsky et al. 2012; base net of the min-pooling paper (ImageNet subset)",
    )


@register_backbone("alexnet_small")
def alexnet_small(widths=(32, 32, 64), fc_units=1024, dropout=0.0):
    """Small AlexNet for 32x32 images: 3 conv layers + FC1024 features."""
    a, b, c = widths

    def stage1(x, prefix):
        x = layers.Conv2D(a, 5, padding="same", kernel_initializer=WEIGHT_INIT,
                          name=f"{prefix}_c1_conv")(x)
        x = ceil_pool(x, "max", 3, 2, prefix)
        x = layers.ReLU(name=f"{prefix}_relu")(x)
        return LocalResponseNormalization(3, 5e-5, 0.75, name=f"{prefix}_lrn")(x)

    def stage2(x, prefix):
        x = conv_relu(x, b, 5, f"{prefix}_c1")
        x = ceil_pool(x, "avg", 3, 2, prefix)
        return LocalResponseNormalization(3, 5e-5, 0.75, name=f"{prefix}_lrn")(x)

    def stage3(x, prefix):
        x = conv_relu(x, c, 5, f"{prefix}_c1")
        return ceil_pool(x, "avg", 3, 2, prefix)

    def pool(x, prefix):
        x = layers.Flatten(name=f"{prefix}_flatten")(x)
        return _dense(x, fc_units, prefix, dropout)

    return BackboneSpec(
        "alexnet_small", [stage1, stage2, stage3], pool,
        "small AlexNet (3 conv + FC1024), 32 px",
        "cuda-convnet / Caffe cifar10_quick style; base net of the min-pooling paper (CIFAR-100)",
    )
