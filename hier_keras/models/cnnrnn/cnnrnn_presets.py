"""Architecture presets of `CNNRNN`: the paper's CIFAR-100 setups and CPU presets."""

from hier_keras.presets.constants import (
    CNN7_TRAINING,
    WIDER_RESNET_TRAINING,
    WRN_TRAINING,
    cifar100_config,
    fashion_mnist_config,
)

PRESETS = {
    "small_fashion_mnist": {
        "description": "small CPU backbone + visual LSTM (64/128), Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("small", embedding_dim=64, units=128),
    },
    "cnn7_fashion_mnist": {
        "description": "CNN-7 + visual LSTM (128/256), Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("cnn7", embedding_dim=128, units=256),
    },
    "cnn7": {
        "description": "CNN-7 + visual LSTM, CIFAR-100 (Guo et al. 2018 Table 4)",
        "config": cifar100_config("cnn7", CNN7_TRAINING, embedding_dim=256, units=512),
    },
    "wrn28_10": {
        "description": "Wide ResNet 28-10 + visual LSTM, CIFAR-100 (Guo et al. 2018 Table 4)",
        "config": cifar100_config("wrn28_10", WRN_TRAINING, embedding_dim=256, units=512),
    },
    "wider_resnet": {
        "description": "29-layer wider ResNet (Table 3) + visual LSTM, CIFAR-100",
        "config": cifar100_config("wider_resnet", WIDER_RESNET_TRAINING, embedding_dim=256,
                                  units=512),
    },
}
