"""Convolution blocks shared by the backbones (Keras layers only)."""

from __future__ import annotations

from keras import layers

WEIGHT_INIT = "he_normal"
# PyTorch-style BN momentum: moving statistics settle within a few hundred steps.
BN_MOMENTUM = 0.9


def conv_bn_relu(x, filters, prefix, kernel_size=3, strides=1):
    """Conv (no bias) -> BatchNorm -> ReLU."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                      kernel_initializer=WEIGHT_INIT, name=f"{prefix}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


def bn_relu(x, prefix):
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    return layers.ReLU(name=f"{prefix}_relu")(x)


def preact_basic_block(x, filters, strides, dropout, prefix):
    """Wide-ResNet block (Zagoruyko & Komodakis 2016): BN-ReLU-conv3x3-dropout-BN-ReLU-conv3x3."""
    pre = bn_relu(x, f"{prefix}_pre")
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                 kernel_initializer=WEIGHT_INIT, name=f"{prefix}_proj")(pre)
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                      kernel_initializer=WEIGHT_INIT, name=f"{prefix}_conv1")(pre)
    y = bn_relu(y, f"{prefix}_mid")
    if dropout:
        y = layers.Dropout(dropout, name=f"{prefix}_drop")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                      kernel_initializer=WEIGHT_INIT, name=f"{prefix}_conv2")(y)
    return layers.Add(name=f"{prefix}_add")([shortcut, y])


def preact_bottleneck_block(x, filters, strides, prefix, expansion=4):
    """Pre-activation bottleneck (He et al. 2016b): [1x1, 3x3, 1x1], output `filters` channels."""
    inner = filters // expansion
    pre = bn_relu(x, f"{prefix}_pre")
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                 kernel_initializer=WEIGHT_INIT, name=f"{prefix}_proj")(pre)
    y = layers.Conv2D(inner, 1, use_bias=False, kernel_initializer=WEIGHT_INIT,
                      name=f"{prefix}_conv1")(pre)
    y = bn_relu(y, f"{prefix}_mid1")
    y = layers.Conv2D(inner, 3, strides=strides, padding="same", use_bias=False,
                      kernel_initializer=WEIGHT_INIT, name=f"{prefix}_conv2")(y)
    y = bn_relu(y, f"{prefix}_mid2")
    y = layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=WEIGHT_INIT,
                      name=f"{prefix}_conv3")(y)
    return layers.Add(name=f"{prefix}_add")([shortcut, y])


def global_pool(preact=False):
    """Pool builder: (BN-ReLU when the net is pre-activation) -> global average pooling."""

    def pool(x, prefix):
        if preact:
            x = bn_relu(x, f"{prefix}_final")
        return layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)

    return pool
