"""ImageNet-style backbones of Koo et al. (2018): VGG-16, ResNet-50, SE-ResNet-50, CBAM-ResNet-50.

Koo, Klabjan, Utke (2018), Sec. 4 compare and tap VGG-16 (Simonyan &
Zisserman 2014), ResNet-50 (He et al. 2016), SE-ResNet-50 (Hu et al. 2018,
squeeze-and-excitation, reduction 16) and CBAM-ResNet-50 (Woo et al. 2018,
channel then spatial attention, reduction 16, 7x7 spatial conv).

`keras.applications.VGG16` / `ResNet50` build one closed functional model,
but a registered backbone is a list of stage builders that create fresh
layers on any tensor (DHNN taps the stages, MergedCNN copies them), so the
stages are written here with the same layers, layer names and parameter
counts as `keras.applications` (the tests compare the counts with
`keras.applications.*(weights=None, include_top=False)`); ImageNet weight
files of those models (keras.applications' `*_notop.h5`) load by layer name:
`backbone_weights=PATH` in any family, or `hk.backbones.load_backbone_weights`
(tested: identical features). The SE and CBAM
blocks are our own, placed as in their papers: on the residual branch,
after the last BN and before the addition.

Stages: VGG-16 blocks 1-5 (each with its max pooling); ResNet: the stem
(7x7/2 conv, 3x3/2 max pooling) and the four groups conv2_x .. conv5_x.
The feature head is global average pooling.

Example:

>>> import hier_keras as hk
>>> net = hk.backbones.build_backbone("se_resnet50", (32, 32, 3), blocks=(1, 1, 1, 1),
...                                   widths=(4, 8, 8, 8), stem_width=4)
>>> [tuple(net.output[f"stage_{i}"].shape[1:]) for i in range(1, 6)]
[(8, 8, 4), (8, 8, 16), (4, 4, 32), (2, 2, 32), (1, 1, 32)]
"""

from __future__ import annotations

import keras
from keras import layers, ops

from hier_keras.backbones.registry import BackboneSpec, register_backbone

BN_EPS = 1.001e-5  # keras.applications' ResNet


def _gap(x, prefix):
    return layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)


# ===================================================================== VGG-16
def _vgg_block(index, width, convs):
    def stage(x, prefix):
        for i in range(convs):
            x = layers.Conv2D(width, 3, padding="same", activation="relu",
                              name=f"{prefix}_block{index}_conv{i + 1}")(x)
        return layers.MaxPooling2D(2, strides=2, name=f"{prefix}_block{index}_pool")(x)

    return stage


@register_backbone("vgg16")
def vgg16(widths=(64, 128, 256, 512, 512), convs=(2, 2, 3, 3, 3)):
    """VGG-16's 13 conv layers in 5 stages (Simonyan & Zisserman 2014), as keras.applications."""
    return BackboneSpec(
        "vgg16",
        [_vgg_block(i + 1, w, c) for i, (w, c) in enumerate(zip(widths, convs))],
        _gap,
        "VGG-16 conv blocks 1-5 (14.7M params), GAP",
        "Simonyan & Zisserman 2014; Koo et al. 2018",
    )


# ===================================================================== ResNet-50 (+ SE / CBAM)
def _se(x, prefix, reduction=16):
    """Squeeze-and-excitation (Hu et al. 2018): GAP -> FC/r ReLU -> FC sigmoid -> scale."""
    c = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}_se_squeeze")(x)
    s = layers.Dense(max(c // reduction, 1), activation="relu", name=f"{prefix}_se_reduce")(s)
    s = layers.Dense(c, activation="sigmoid", name=f"{prefix}_se_expand")(s)
    return layers.Multiply(name=f"{prefix}_se_scale")([x, s])


def _cbam(x, prefix, reduction=16, kernel_size=7):
    """CBAM (Woo et al. 2018): channel attention (shared MLP on avg- and max-pooled
    descriptors), then spatial attention (7x7 conv + BN on channel-wise mean and max)."""
    c = x.shape[-1]
    fc1 = layers.Dense(max(c // reduction, 1), activation="relu", name=f"{prefix}_cbam_fc1")
    fc2 = layers.Dense(c, name=f"{prefix}_cbam_fc2")
    avg = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}_cbam_avg")(x)
    mx = layers.GlobalMaxPooling2D(keepdims=True, name=f"{prefix}_cbam_max")(x)
    att = layers.Add(name=f"{prefix}_cbam_channel_sum")([fc2(fc1(avg)), fc2(fc1(mx))])
    att = layers.Activation("sigmoid", name=f"{prefix}_cbam_channel_gate")(att)
    x = layers.Multiply(name=f"{prefix}_cbam_channel_scale")([x, att])
    pooled = ChannelPool(name=f"{prefix}_cbam_pool")(x)
    s = layers.Conv2D(1, kernel_size, padding="same", use_bias=False,
                      name=f"{prefix}_cbam_spatial_conv")(pooled)
    s = layers.BatchNormalization(epsilon=BN_EPS, name=f"{prefix}_cbam_spatial_bn")(s)
    s = layers.Activation("sigmoid", name=f"{prefix}_cbam_spatial_gate")(s)
    return layers.Multiply(name=f"{prefix}_cbam_spatial_scale")([x, s])


@keras.saving.register_keras_serializable(package="hier_keras")
class ChannelPool(layers.Layer):
    """CBAM's channel pooling: `[mean over channels, max over channels]` -> 2 channels.

    Example:

    >>> import numpy as np
    >>> tuple(ChannelPool()(np.ones((1, 4, 4, 8), "float32")).shape)
    (1, 4, 4, 2)
    """

    def call(self, x):
        return ops.concatenate([ops.mean(x, axis=-1, keepdims=True),
                                ops.max(x, axis=-1, keepdims=True)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2,)


def _bottleneck(x, filters, stride, conv_shortcut, name, attention):
    """keras.applications' ResNet-50 v1 block (stride on the first 1x1), + attention."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=BN_EPS, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    y = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    y = layers.BatchNormalization(epsilon=BN_EPS, name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(y)
    y = layers.BatchNormalization(epsilon=BN_EPS, name=f"{name}_2_bn")(y)
    y = layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(y)
    y = layers.BatchNormalization(epsilon=BN_EPS, name=f"{name}_3_bn")(y)
    if attention == "se":
        y = _se(y, name)
    elif attention == "cbam":
        y = _cbam(y, name)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def _stem(width):
    def stage(x, prefix):
        x = layers.ZeroPadding2D(3, name=f"{prefix}_conv1_pad")(x)
        x = layers.Conv2D(width, 7, strides=2, name=f"{prefix}_conv1_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPS, name=f"{prefix}_conv1_bn")(x)
        x = layers.Activation("relu", name=f"{prefix}_conv1_relu")(x)
        x = layers.ZeroPadding2D(1, name=f"{prefix}_pool1_pad")(x)
        return layers.MaxPooling2D(3, strides=2, name=f"{prefix}_pool1_pool")(x)

    return stage


def _group(index, filters, blocks, stride, attention):
    def stage(x, prefix):
        x = _bottleneck(x, filters, stride, True, f"{prefix}_conv{index}_block1", attention)
        for b in range(2, blocks + 1):
            x = _bottleneck(x, filters, 1, False, f"{prefix}_conv{index}_block{b}", attention)
        return x

    return stage


def _resnet_spec(name, attention, blocks, widths, stem_width, description, reference):
    groups = [_group(i + 2, w, b, 1 if i == 0 else 2, attention)
              for i, (w, b) in enumerate(zip(widths, blocks))]
    return BackboneSpec(name, [_stem(stem_width)] + groups, _gap, description, reference)


@register_backbone("resnet50")
def resnet50(blocks=(3, 4, 6, 3), widths=(64, 128, 256, 512), stem_width=64):
    """ResNet-50 v1 (He et al. 2016) in 5 stages (stem, conv2_x .. conv5_x), as keras.applications."""
    return _resnet_spec("resnet50", None, blocks, widths, stem_width,
                        "ResNet-50 v1 (23.6M params), GAP", "He et al. 2016; Koo et al. 2018")


@register_backbone("se_resnet50")
def se_resnet50(blocks=(3, 4, 6, 3), widths=(64, 128, 256, 512), stem_width=64):
    """SE-ResNet-50: ResNet-50 with a squeeze-and-excitation block (r = 16) in every block."""
    return _resnet_spec("se_resnet50", "se", blocks, widths, stem_width,
                        "SE-ResNet-50 (Hu et al. 2018), GAP", "Hu et al. 2018; Koo et al. 2018")


@register_backbone("cbam_resnet50")
def cbam_resnet50(blocks=(3, 4, 6, 3), widths=(64, 128, 256, 512), stem_width=64):
    """CBAM-ResNet-50: ResNet-50 with CBAM (r = 16, 7x7 spatial conv) in every block."""
    return _resnet_spec("cbam_resnet50", "cbam", blocks, widths, stem_width,
                        "CBAM-ResNet-50 (Woo et al. 2018), GAP", "Woo et al. 2018; Koo et al. 2018")
