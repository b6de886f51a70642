"""Plain CNN backbones: `small` (fast on a CPU) and `cnn7` (Guo et al.'s CNN-7 slot).

Guo et al. 2018 (Fig. 6) use a 7-layer CNN whose exact layout is not in the
text; `cnn7` is our design with 7 weight layers: six 3x3 conv layers (64, 64,
128, 128, 256, 256 channels; BN + ReLU; 2x2 max-pooling after the first two
pairs) and one 512-unit fully connected feature layer with dropout, on which
the family's heads sit.
"""

from __future__ import annotations

from keras import layers

from hier_keras.backbones.blocks import conv_bn_relu
from hier_keras.backbones.registry import BackboneSpec, register_backbone


def _conv_stage(widths, pool, first_stage=False):
    def stage(x, prefix):
        for i, w in enumerate(widths):
            x = conv_bn_relu(x, w, f"{prefix}_c{i + 1}")
        if pool:
            x = layers.MaxPooling2D(2, name=f"{prefix}_maxpool")(x)
        return x

    return stage


def _dense_pool(units, dropout):
    def pool(x, prefix):
        x = layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)
        if units:
            if dropout:
                x = layers.Dropout(dropout, name=f"{prefix}_drop")(x)
            x = layers.Dense(units, activation="relu", kernel_initializer="he_normal",
                             name=f"{prefix}_fc")(x)
        return x

    return pool


@register_backbone("small")
def small(widths=(32, 64, 128), dropout=0.0):
    """Small CPU backbone: 4 conv layers in 3 stages (0.13M params), global average pooling.

    One conv at full resolution, then two at 1/2 and one at 1/4: about 15M
    multiply-adds per 28x28 image, so a 2-core CPU trains it at a few hundred
    images per second.
    """
    a, b, c = widths
    return BackboneSpec(
        "small",
        [_conv_stage([a], True), _conv_stage([b, b], True), _conv_stage([c], False)],
        _dense_pool(0, dropout),
        "4 conv layers (32 / 64-64 / 128), BN, GAP; for 28-32 px on a CPU",
        "hier_keras",
    )


@register_backbone("cnn7")
def cnn7(widths=(64, 128, 256), fc_units=512, dropout=0.3):
    """CNN-7: six 3x3 conv layers in 3 stages + one FC feature layer (our design)."""
    a, b, c = widths
    return BackboneSpec(
        "cnn7",
        [_conv_stage([a, a], True), _conv_stage([b, b], True), _conv_stage([c, c], False)],
        _dense_pool(fc_units, dropout),
        "7-layer plain CNN (6 conv + FC512), our design for Guo et al.'s CNN-7",
        "Guo et al. 2018, Fig. 6 (layout not published; ours)",
    )
