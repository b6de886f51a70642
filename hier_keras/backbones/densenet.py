"""DenseNet-BC (Huang et al. 2017), CIFAR layout.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
Networks", Sec. 3-4 (DenseNet-BC, used by Dutt et al. 2017): a 3x3 conv with
`2k` channels, then three dense blocks of `(depth - 4) / 6` bottleneck layers
`BN-ReLU-Conv1x1(4k)-BN-ReLU-Conv3x3(k)` whose outputs are concatenated to
their inputs, with transition layers `BN-ReLU-Conv1x1(floor(theta * c))-AvgPool2x2`
(compression theta) between blocks, a final BN-ReLU and global average
pooling. Depth 100, k = 12, theta = 0.5 is DenseNet-100-BC: 16 layers per
block, 24 -> 216 -> 108 -> 300 -> 150 -> 342 channels; 0.8M parameters.
No dropout (the paper drops it with data augmentation).

Stages: stage 1 = stem + dense block 1 + transition 1, stage 2 = dense
block 2 + transition 2, stage 3 = dense block 3 (Dutt et al. Sec. 3.4: each
stage ends where the maps are pooled), so merge-k splits at the pooling.

Example:

>>> import hier_keras as hk
>>> hk.backbones.get_backbone_spec("densenet100_bc").num_stages
3
"""

from __future__ import annotations

from keras import layers

from hier_keras.backbones.blocks import BN_MOMENTUM, WEIGHT_INIT, bn_relu, global_pool
from hier_keras.backbones.registry import BackboneSpec, register_backbone


def dense_layer(x, growth_rate, prefix, bottleneck=True):
    """One DenseNet-B layer: (BN-ReLU-1x1 conv to 4k) BN-ReLU-3x3 conv to k, concatenated."""
    y = x
    if bottleneck:
        y = bn_relu(y, f"{prefix}_pre1")
        y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, kernel_initializer=WEIGHT_INIT,
                          name=f"{prefix}_conv1")(y)
    y = bn_relu(y, f"{prefix}_pre2")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                      kernel_initializer=WEIGHT_INIT, name=f"{prefix}_conv2")(y)
    return layers.Concatenate(name=f"{prefix}_concat")([x, y])


def transition(x, compression, prefix):
    """BN-ReLU-1x1 conv to floor(compression * channels) - 2x2 average pooling."""
    channels = int(x.shape[-1] * compression)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    x = layers.ReLU(name=f"{prefix}_relu")(x)
    x = layers.Conv2D(channels, 1, use_bias=False, kernel_initializer=WEIGHT_INIT,
                      name=f"{prefix}_conv")(x)
    return layers.AveragePooling2D(2, name=f"{prefix}_avgpool")(x)


def _stage(n_layers, growth_rate, compression, stem=None, pool=True, bottleneck=True):
    def stage(x, prefix):
        if stem:
            x = layers.Conv2D(stem, 3, padding="same", use_bias=False,
                              kernel_initializer=WEIGHT_INIT, name=f"{prefix}_stem")(x)
        for i in range(n_layers):
            x = dense_layer(x, growth_rate, f"{prefix}_l{i + 1}", bottleneck)
        if pool:
            x = transition(x, compression, f"{prefix}_trans")
        return x

    return stage


@register_backbone("densenet_bc")
def densenet_bc(depth=100, growth_rate=12, compression=0.5):
    """DenseNet-BC of `depth` = 6n + 4 (n bottleneck layers per dense block)."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"DenseNet-BC depth must be 6n + 4 (e.g. 100, 190); received {depth}.")
    if not 0 < compression <= 1:
        raise ValueError(f"`compression` must be in (0, 1]; received {compression}.")
    n = (depth - 4) // 6
    k = growth_rate
    stages = [_stage(n, k, compression, stem=2 * k), _stage(n, k, compression),
              _stage(n, k, compression, pool=False)]
    return BackboneSpec(
        f"densenet{depth}_bc", stages, global_pool(preact=True),
        f"DenseNet-BC depth {depth}, k={k}, compression {compression}",
        "Huang et al. 2017, Densely Connected Convolutional Networks; Dutt et al. 2017",
    )


@register_backbone("densenet100_bc")
def densenet100_bc():
    """DenseNet-100-BC, k = 12 (Huang et al. 2017; Dutt et al. 2017)."""
    return densenet_bc(100, 12, 0.5)
