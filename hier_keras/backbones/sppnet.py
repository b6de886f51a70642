"""SPP-net backbones: `sppnet` (conv1-5 of Zuo et al. 2016, Table I, 224 px) and `sppnet_small`.

`sppnet` follows the SPP-net / C-HRNN rows of Table I (He et al. 2014's
ZF-5-style net as Zuo et al. train it):

    conv1 96x7x7 stride 2 pad 1, ReLU, LRN, maxpool 3/2    -> 55x55  (224 px input)
    conv2 256x5x5 stride 2 pad 0, ReLU, LRN, maxpool 3/2   -> 13x13
    conv3 384x3x3 pad 1, ReLU                              -> 13x13
    conv4 384x3x3 pad 1, ReLU                              -> 13x13
    conv5 256x3x3 pad 1, ReLU                              -> 13x13 (stage 3 output)
    pool: spatial pyramid {6x6, 3x3, 2x2, 1x1} max pooling, flattened,
          then fc6 / fc7 4096 with dropout 0.5

(Table I calls the two FC layers fc7 and fc8 because C-HRNN's hrnn6 sits in
between.) `sppnet_small` is our design for 28-32 px inputs on a CPU: three
3x3 conv layers with BatchNorm (32, 2x2 max pool, 64, 2x2 max pool, 64),
a 7x7 map at 28 px (8x8 at 32 px), then the same pyramid and one FC layer.

The C-HRNN family uses only the stages (conv5's map feeds its own pyramid
and hrnn6); `HierarchicalCNN(backbone="sppnet")` gives a plain SPP-net.
Our choices where the text is silent: LRN with Caffe's defaults (5, 1e-4,
0.75), pooling with Caffe's ceil rounding, ReLU on the FC layers.
"""

from __future__ import annotations

from keras import layers

from hier_keras.backbones.alexnet import LocalResponseNormalization
from hier_keras.backbones.blocks import WEIGHT_INIT, conv_bn_relu
from hier_keras.backbones.nin import ceil_pool, conv_relu
from hier_keras.backbones.registry import BackboneSpec, register_backbone
from hier_keras.layers.spatial_pyramid_pooling import SpatialPyramidPooling

SPP_BINS = (6, 3, 2, 1)


def spp_pool(bins=SPP_BINS, fc_units=(4096, 4096), dropout=0.5):
    """Pool builder: spatial pyramid max pooling, flattened, then FC layers with dropout."""

    def pool(x, prefix):
        x = SpatialPyramidPooling(bins, name=f"{prefix}_spp")(x)
        for i, units in enumerate(fc_units):
            x = layers.Dense(units, activation="relu", kernel_initializer=WEIGHT_INIT,
                             name=f"{prefix}_fc{i + 1}")(x)
            if dropout:
                x = layers.Dropout(dropout, name=f"{prefix}_drop{i + 1}")(x)
        return x

    return pool


@register_backbone("sppnet")
def sppnet(width=1.0, bins=SPP_BINS, fc_units=(4096, 4096), dropout=0.5):
    """SPP-net conv1-5 (Zuo et al. 2016, Table I) + pyramid + FC4096-FC4096, 224 px."""
    s = lambda c: max(1, int(round(c * width)))  # noqa: E731

    def stage1(x, prefix):
        x = layers.ZeroPadding2D(1, name=f"{prefix}_pad")(x)
        x = conv_relu(x, s(96), 7, f"{prefix}_c1", strides=2, padding="valid")
        x = LocalResponseNormalization(5, 1e-4, 0.75, name=f"{prefix}_lrn")(x)
        return ceil_pool(x, "max", 3, 2, prefix)

    def stage2(x, prefix):
        x = conv_relu(x, s(256), 5, f"{prefix}_c1", strides=2, padding="valid")
        x = LocalResponseNormalization(5, 1e-4, 0.75, name=f"{prefix}_lrn")(x)
        return ceil_pool(x, "max", 3, 2, prefix)

    def stage3(x, prefix):
        for i, c in enumerate([s(384), s(384), s(256)]):
            x = conv_relu(x, c, 3, f"{prefix}_c{i + 1}")
        return x

    return BackboneSpec(
        "sppnet", [stage1, stage2, stage3], spp_pool(bins, list(fc_units), dropout),
        "SPP-net conv1-5 (13x13x256 at 224 px), {6,3,2,1} pyramid, FC4096-FC4096",
        "He et al. 2014; Zuo et al. 2016 Table I (C-HRNN base net)",
    )


@register_backbone("sppnet_small")
def sppnet_small(widths=(32, 64, 64), bins=SPP_BINS, fc_units=(256,), dropout=0.0):
    """Small SPP-net for 28-32 px: 3 conv layers (BN) -> 7x7 map -> pyramid -> FC."""
    a, b, c = widths

    def stage1(x, prefix):
        x = conv_bn_relu(x, a, f"{prefix}_c1")
        return layers.MaxPooling2D(2, name=f"{prefix}_maxpool")(x)

    def stage2(x, prefix):
        x = conv_bn_relu(x, b, f"{prefix}_c1")
        return layers.MaxPooling2D(2, name=f"{prefix}_maxpool")(x)

    def stage3(x, prefix):
        return conv_bn_relu(x, c, f"{prefix}_c1")

    return BackboneSpec(
        "sppnet_small", [stage1, stage2, stage3], spp_pool(bins, list(fc_units), dropout),
        "3 conv layers (32 / 64 / 64, BN) -> {6,3,2,1} pyramid -> FC256; for 28-32 px on a CPU",
        "hier_keras (small stand-in for SPP-net conv1-5)",
    )
