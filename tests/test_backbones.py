"""Backbones: parameter counts computed by hand, and every backbone exposes its stages."""

import pytest

from hier_keras.backbones import build_backbone, get_backbone_spec, list_backbones

# Parameter counts include BatchNorm's 4 vectors (gamma, beta, moving mean, moving var).
#
# WRN-28-10 (3x3 convs without bias, pre-activation basic blocks, 1x1 projection where the
# shape changes): stem 3*3*3*16 = 432.
#   group 1, 16 -> 160: block 1 = BN16 64 + proj 16*160 + 9*16*160 + BN160 640 + 9*160*160
#       = 256,704; blocks 2-4 = 3 * (640 + 230,400 + 640 + 230,400) = 1,386,240
#   group 2, 160 -> 320: block 1 = 640 + 51,200 + 460,800 + 1,280 + 921,600 = 1,435,520;
#       blocks 2-4 = 3 * (1,280 + 921,600 + 1,280 + 921,600) = 5,537,280
#   group 3, 320 -> 640: block 1 = 1,280 + 204,800 + 1,843,200 + 2,560 + 3,686,400 = 5,738,240;
#       blocks 2-4 = 3 * (2,560 + 3,686,400 + 2,560 + 3,686,400) = 22,133,760
#   final BN640 = 2,560.  Total = 36,490,736.
WRN28_10 = 432 + (256_704 + 1_386_240) + (1_435_520 + 5_537_280) + (5_738_240 + 22_133_760) + 2_560
# Wider ResNet (Guo et al. Table 3): stem 3*3*3*64 = 1,728; bottleneck [1x1, 3x3, 1x1], inner
# width = out / 4.
#   group 1, 64 -> 256 (inner 64): block 1 = 256 + 16,384 + 4,096 + 256 + 36,864 + 256 + 16,384
#       = 74,496; blocks 2-3 = 2 * (1,024 + 16,384 + 256 + 36,864 + 256 + 16,384) = 142,336
#   group 2, 256 -> 512 (inner 128): block 1 = 1,024 + 131,072 + 32,768 + 512 + 147,456 + 512
#       + 65,536 = 378,880; blocks 2-3 = 2 * (2,048 + 65,536 + 512 + 147,456 + 512 + 65,536)
#       = 563,200
#   group 3, 512 -> 1024 (inner 256): block 1 = 2,048 + 524,288 + 131,072 + 1,024 + 589,824
#       + 1,024 + 262,144 = 1,511,424; blocks 2-3 = 2 * (4,096 + 262,144 + 1,024 + 589,824
#       + 1,024 + 262,144) = 2,240,512
#   final BN1024 = 4,096.  Total = 4,916,672.
WIDER_RESNET = 1_728 + (74_496 + 142_336) + (378_880 + 563_200) + (1_511_424 + 2_240_512) + 4_096
# CNN-7 on 28x28x1: convs 9*1*64 + 9*64*64 + 9*64*128 + 9*128*128 + 9*128*256 + 9*256*256,
# six BNs 4*(64+64+128+128+256+256), FC 256*512 + 512.
CNN7_GRAY = (9 * (64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256)
             + 4 * (64 + 64 + 128 + 128 + 256 + 256) + 256 * 512 + 512)


@pytest.mark.parametrize("name, shape, params", [
    ("wrn28_10", (32, 32, 3), WRN28_10),
    ("wider_resnet", (32, 32, 3), WIDER_RESNET),
    ("cnn7", (28, 28, 1), CNN7_GRAY),
])
def test_parameter_counts(name, shape, params):
    assert build_backbone(name, shape).count_params() == params


def test_wider_resnet_has_29_weight_layers():
    net = build_backbone("wider_resnet", (32, 32, 3))
    convs = [l for l in net.layers if l.__class__.__name__ == "Conv2D" and "proj" not in l.name]
    assert len(convs) + 1 == 29  # + the classifier of the family's head


@pytest.mark.parametrize("name", ["small", "cnn7", "wrn16_4"])
def test_every_backbone_exposes_stages(name):
    spec = get_backbone_spec(name)
    net = build_backbone(name, (32, 32, 3))
    assert [k for k in net.output if k.startswith("stage_")] == [
        f"stage_{i + 1}" for i in range(spec.num_stages)]
    assert len(net.output["features"].shape) == 2


def test_unknown_backbone():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet9000'. Available backbones"):
        build_backbone("resnet9000", (32, 32, 3))
    assert "wrn28_10" in list_backbones()
