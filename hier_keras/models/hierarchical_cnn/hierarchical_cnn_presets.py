"""Architecture presets of `HierarchicalCNN` (shared settings: `hier_keras/presets/constants.py`).

Preset names say backbone and dataset; the paper's CIFAR-100 presets keep the
short names the design card uses (`"wrn28_10"`).
"""

from hier_keras.presets.constants import (
    CNN7_TRAINING,
    WIDER_RESNET_TRAINING,
    WRN_TRAINING,
    cifar100_config,
    fashion_mnist_config,
)

PRESETS = {
    "small_fashion_mnist": {
        "description": "small CPU backbone, parallel heads, Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("small"),
    },
    "cnn7_fashion_mnist": {
        "description": "CNN-7 backbone, parallel heads, Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("cnn7"),
    },
    "cnn7": {
        "description": "CNN-7, CIFAR-100 (Guo et al. 2018 Table 4 setup)",
        "config": cifar100_config("cnn7", CNN7_TRAINING),
    },
    "wrn28_10": {
        "description": "Wide ResNet 28-10 with dropout, CIFAR-100 (Guo et al. 2018)",
        "config": cifar100_config("wrn28_10", WRN_TRAINING),
    },
    "wider_resnet": {
        "description": "Guo et al.'s 29-layer wider ResNet (Table 3), CIFAR-100",
        "config": cifar100_config("wider_resnet", WIDER_RESNET_TRAINING),
    },
}
