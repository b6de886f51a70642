"""Pre-activation ResNets with bottleneck blocks (He et al. 2016b), CIFAR layout.

He, Zhang, Ren, Sun (2016), "Identity Mappings in Deep Residual Networks", the
CIFAR networks of Sec. 4 / Table 2 (and the ResNet-164 used by Dutt et al.
2017): a 3x3 conv with 16 channels, then three stages of `n` pre-activation
bottleneck blocks `[BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1]` with 16 / 32 / 64
bottleneck channels and 64 / 128 / 256 output channels at 32 / 16 / 8 px
(stride 2 in the first block of stages 2 and 3, 1x1 projection shortcuts
where the shape changes), a final BN-ReLU and global average pooling.
Depth = 9n + 2 weight layers; `n = 18` gives ResNet-164 (1.7M parameters with
a 10-class classifier, 1.73M with a 100-class one).

Stage boundaries follow the resolution changes (Dutt et al. Sec. 3.4): stage 1
holds the stem conv and the 32 px blocks, stage 2 starts with the strided
block, so MergedCNN's merge-k splits exactly where the feature maps are
down-sampled.

Example:

>>> import hier_keras as hk
>>> spec = hk.backbones.get_backbone_spec("preact_resnet164")
>>> spec.num_stages, spec.name
(3, 'preact_resnet164')
"""

from __future__ import annotations

from keras import layers

from hier_keras.backbones.blocks import (
    WEIGHT_INIT,
    global_pool,
    preact_bottleneck_block,
)
from hier_keras.backbones.registry import BackboneSpec, register_backbone


def _stage(n_blocks, filters, strides, stem_filters=None):
    def stage(x, prefix):
        if stem_filters:
            x = layers.Conv2D(stem_filters, 3, padding="same", use_bias=False,
                              kernel_initializer=WEIGHT_INIT, name=f"{prefix}_stem")(x)
        for i in range(n_blocks):
            x = preact_bottleneck_block(x, filters, strides if i == 0 else 1,
                                        prefix=f"{prefix}_b{i + 1}")
        return x

    return stage


@register_backbone("preact_resnet")
def preact_resnet(depth=164, widths=(64, 128, 256), stem=16):
    """Pre-activation bottleneck ResNet of `depth` = 9n + 2 (e.g. 56, 164, 1001)."""
    if depth < 11 or (depth - 2) % 9:
        raise ValueError(
            f"Bottleneck pre-activation ResNet depth must be 9n + 2 (e.g. 164, 1001); "
            f"received {depth}."
        )
    n = (depth - 2) // 9
    a, b, c = widths
    stages = [_stage(n, a, 1, stem_filters=stem), _stage(n, b, 2), _stage(n, c, 2)]
    return BackboneSpec(
        f"preact_resnet{depth}", stages, global_pool(preact=True),
        f"pre-activation bottleneck ResNet-{depth} ({a}/{b}/{c} out, {a // 4}/{b // 4}/{c // 4} "
        "bottleneck channels)",
        "He et al. 2016, Identity Mappings in Deep Residual Networks; Dutt et al. 2017",
    )


@register_backbone("preact_resnet164")
def preact_resnet164():
    """ResNet-164: 3 stages x 18 pre-activation bottleneck blocks (He et al. 2016b)."""
    return preact_resnet(164)
