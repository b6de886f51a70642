"""Network-in-Network backbones (Lin, Chen, Yan 2014): `nin` (3 mlpconv, 32 px) and `nin4` (224 px).

Both follow the Caffe models of the NIN paper, which the min-pooling paper
(weak supervision with min-pooling, Sec. V-A) uses as base nets ("a replication of the one
used in the original paper"). The last 1x1 layer of NIN (one channel per
class) is *not* part of the backbone: a family adds it with the number of
classes it needs (MinPoolNet: one map per fine class, no softmax).

`nin` (CIFAR, 32x32): three mlpconv blocks

    conv5x5-192, 1x1-160, 1x1-96, maxpool 3/2, dropout 0.5
    conv5x5-192, 1x1-192, 1x1-192, avgpool 3/2, dropout 0.5
    conv3x3-192, 1x1-192                    (+ the family's 1x1-F)

giving an 8x8 map at 32 px. `nin4` (ImageNet, 224x224): four mlpconv blocks

    conv11x11/4-96, 1x1-96, 1x1-96, maxpool 3/2
    conv5x5-256, 1x1-256, 1x1-256, maxpool 3/2
    conv3x3-384, 1x1-384, 1x1-384, maxpool 3/2, dropout 0.5
    conv3x3-1024, 1x1-1024                  (+ the family's 1x1-F)

giving a 6x6 map (d = 36) at 224 px. Pooling uses Caffe's ceil rounding.
Every conv has a ReLU; `batch_norm=True` adds BatchNorm before each ReLU (not
in the paper; it makes short CPU runs converge at higher learning rates).
`width` scales every channel count (1.0 = the paper).
"""

from __future__ import annotations

import math

from keras import layers

from hier_keras.backbones.blocks import BN_MOMENTUM, WEIGHT_INIT
from hier_keras.backbones.registry import BackboneSpec, register_backbone


def conv_relu(x, filters, kernel_size, prefix, strides=1, padding="same", batch_norm=False):
    """Conv -> (BatchNorm) -> ReLU, the unit of Caffe-era nets."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=not batch_norm, kernel_initializer=WEIGHT_INIT,
                      name=f"{prefix}_conv")(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


def ceil_pool(x, kind, pool_size, strides, prefix):
    """Pooling with Caffe's rounding: `ceil((n - k) / s) + 1` outputs per axis.

    The missing bottom/right rows are zero-padded first, which for max
    pooling of non-negative (post-ReLU) maps equals Caffe's behaviour.
    """
    pads = []
    for n in x.shape[1:3]:
        if n is None:
            pads.append(0)
            continue
        n = int(n)
        out = max(1, math.ceil(max(n - pool_size, 0) / strides) + 1)
        pads.append(max(0, (out - 1) * strides + pool_size - n))
    if any(pads):
        x = layers.ZeroPadding2D(((0, pads[0]), (0, pads[1])), name=f"{prefix}_ceilpad")(x)
    pool = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    return pool(pool_size, strides=strides, name=f"{prefix}_{kind}pool")(x)


def _scale(channels, width):
    return max(1, int(round(channels * width)))


def mlpconv_stage(channels, kernel_size, strides=1, padding="same", pool=None, dropout=0.0,
                  batch_norm=False):
    """One mlpconv block: a kxk conv, then 1x1 convs, then optional pool and dropout."""

    def stage(x, prefix):
        for i, c in enumerate(channels):
            x = conv_relu(x, c, kernel_size if i == 0 else 1, f"{prefix}_c{i + 1}",
                          strides=strides if i == 0 else 1, padding=padding if i == 0 else "same",
                          batch_norm=batch_norm)
        if pool:
            x = ceil_pool(x, pool, 3, 2, prefix)
        if dropout:
            x = layers.Dropout(dropout, name=f"{prefix}_drop")(x)
        return x

    return stage


def gap_pool(x, prefix):
    """Global average pooling of the last map (the feature vector)."""
    return layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)


@register_backbone("nin")
def nin(width=1.0, dropout=0.5, batch_norm=False):
    """NIN for 32x32 images (3 mlpconv blocks; the CIFAR model of Lin et al. 2014)."""
    s = lambda c: _scale(c, width)  # noqa: E731
    stages = [
        mlpconv_stage([s(192), s(160), s(96)], 5, pool="max", dropout=dropout,
                      batch_norm=batch_norm),
        mlpconv_stage([s(192), s(192), s(192)], 5, pool="avg", dropout=dropout,
                      batch_norm=batch_norm),
        mlpconv_stage([s(192), s(192)], 3, batch_norm=batch_norm),
    ]
    return BackboneSpec(
        "nin", stages, gap_pool,
        "Network-in-Network, 3 mlpconv blocks (CIFAR, 32 px); the last 1x1 layer is the "
        "family's",
        "Lin, Chen, Yan 2014; base net of the min-pooling paper (CIFAR-100)",
    )


@register_backbone("nin4")
def nin4(width=1.0, dropout=0.5, batch_norm=False):
    """NIN for 224x224 images (4 mlpconv blocks; the ImageNet model of Lin et al. 2014)."""
    s = lambda c: _scale(c, width)  # noqa: E731
    stages = [
        mlpconv_stage([s(96), s(96), s(96)], 11, strides=4, padding="valid", pool="max",
                      batch_norm=batch_norm),
        mlpconv_stage([s(256), s(256), s(256)], 5, pool="max", batch_norm=batch_norm),
        mlpconv_stage([s(384), s(384), s(384)], 3, pool="max", dropout=dropout,
                      batch_norm=batch_norm),
        mlpconv_stage([s(1024), s(1024)], 3, batch_norm=batch_norm),
    ]
    return BackboneSpec(
        "nin4", stages, gap_pool,
        "Network-in-Network, 4 mlpconv blocks (ImageNet, 224 px, 6x6 final map)",
        "Lin, Chen, Yan 2014; base net of the min-pooling paper (ImageNet subset)",
    )
