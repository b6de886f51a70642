"""Wide ResNets: WRN-d-k (Zagoruyko & Komodakis 2016) and Guo et al.'s 29-layer wider ResNet.

`wrn28_10`: depth 28 (4 basic blocks per group), widen factor 10: groups of
160 / 320 / 640 channels at 32 / 16 / 8 px, dropout 0.3 between the convs of
a block, BN-ReLU + global average pooling.

`wider_resnet`: Guo et al. 2018, Table 3: conv1 3x3x64; three groups of
three pre-activation bottleneck blocks [1x1, 3x3, 1x1] with 256 / 512 / 1024
output channels at 32 / 16 / 8 px; global average pooling. With the
classifier it has 1 + 27 + 1 = 29 weight layers.
"""

from __future__ import annotations

from keras import layers

from hier_keras.backbones.blocks import (
    WEIGHT_INIT,
    global_pool,
    preact_basic_block,
    preact_bottleneck_block,
)
from hier_keras.backbones.registry import BackboneSpec, register_backbone


def _stem(filters):
    def stem(x, prefix):
        return layers.Conv2D(filters, 3, padding="same", use_bias=False,
                             kernel_initializer=WEIGHT_INIT, name=f"{prefix}_stem")(x)

    return stem


def _group(block, n_blocks, filters, strides, stem=None, **block_kwargs):
    def stage(x, prefix):
        if stem is not None:
            x = stem(x, prefix)
        for i in range(n_blocks):
            x = block(x, filters, strides if i == 0 else 1, prefix=f"{prefix}_b{i + 1}",
                      **block_kwargs)
        return x

    return stage


@register_backbone("wide_resnet")
def wide_resnet(depth=28, width=10, dropout=0.3):
    """WRN-depth-width with pre-activation basic blocks."""
    if (depth - 4) % 6:
        raise ValueError(f"WRN depth must be 6n + 4 (e.g. 16, 22, 28, 40); received {depth}.")
    n = (depth - 4) // 6
    widths = [16 * width, 32 * width, 64 * width]
    stages = [
        _group(preact_basic_block, n, widths[0], 1, stem=_stem(16), dropout=dropout),
        _group(preact_basic_block, n, widths[1], 2, dropout=dropout),
        _group(preact_basic_block, n, widths[2], 2, dropout=dropout),
    ]
    return BackboneSpec(
        f"wrn{depth}_{width}", stages, global_pool(preact=True),
        f"Wide ResNet {depth}-{width}, dropout {dropout}",
        "Zagoruyko & Komodakis 2016; used by Guo et al. 2018",
    )


@register_backbone("wrn28_10")
def wrn28_10(dropout=0.3):
    """Wide ResNet 28-10 with dropout 0.3 (Guo et al. 2018's wrn-28-10)."""
    return wide_resnet(28, 10, dropout)


@register_backbone("wrn16_4")
def wrn16_4(dropout=0.0):
    """Wide ResNet 16-4: a small wide ResNet that trains on a CPU."""
    return wide_resnet(16, 4, dropout)


@register_backbone("wider_resnet")
def wider_resnet(widths=(256, 512, 1024), blocks=3):
    """Guo et al. 2018, Table 3: the 29-layer wider ResNet with bottleneck blocks."""
    stages = [
        _group(preact_bottleneck_block, blocks, widths[0], 1, stem=_stem(64)),
        _group(preact_bottleneck_block, blocks, widths[1], 2),
        _group(preact_bottleneck_block, blocks, widths[2], 2),
    ]
    return BackboneSpec(
        "wider_resnet", stages, global_pool(preact=True),
        "Guo et al.'s 29-layer wider ResNet (Table 3)", "Guo et al. 2018, Table 3",
    )
