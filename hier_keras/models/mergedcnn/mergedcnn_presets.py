"""Architecture presets of `MergedCNN` (Dutt et al. 2017).

Paper presets (CIFAR-100, 20 coarse + 100 fine classes) keep short names and
the training settings of the backbone's own paper, as Dutt et al. Sec. 4 say
("hyper-parameters and learning rate schedules ... according to the reported
values in their corresponding papers"); CPU presets for Fashion-MNIST end in
`_fashion_mnist`. The topology is a constructor argument
(`from_preset(name, topology="merge-2")`); the presets use merge-1, with
merge-2 the best of Fig. 3.
"""

from hier_keras.presets.constants import (
    cifar100_config,
    fashion_mnist_config,
)

# He et al. 2016b (Identity Mappings), CIFAR: SGD momentum 0.9, weight decay 1e-4, batch 128,
# lr 0.1 divided by 10 at 32k and 48k iterations, 64k iterations, 0.01 warm-up for 400 steps.
RESNET164_TRAINING = {
    "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
    "batch_size": 128, "steps": 64000,
    "schedule": {"type": "piecewise", "boundaries": [400, 32000, 48000],
                 "values": [0.01, 0.1, 0.01, 0.001]},
    "augment": True, "padding": "zero",
}
# Huang et al. 2017 (DenseNet), CIFAR: SGD Nesterov momentum 0.9, weight decay 1e-4, batch 64,
# 300 epochs (782 steps each), lr 0.1 divided by 10 at 50% and 75% of training.
DENSENET_TRAINING = {
    "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True,
    "weight_decay": 1e-4, "batch_size": 64, "epochs": 300, "steps": 234600,
    "schedule": {"type": "piecewise", "boundaries": [117300, 175950], "factor": 0.1},
    "augment": True, "padding": "zero",
}

PRESETS = {
    "small_fashion_mnist": {
        "description": "small CPU backbone split in 3 stages, merge-1, Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("small", topology="merge-1"),
    },
    "resnet164": {
        "description": "pre-activation ResNet-164 (bottleneck), merge-1, CIFAR-100 (Dutt et al. 2017)",
        "config": cifar100_config("preact_resnet164", RESNET164_TRAINING, topology="merge-1"),
    },
    "densenet100_bc": {
        "description": "DenseNet-100-BC k=12, merge-1, CIFAR-100 (Dutt et al. 2017)",
        "config": cifar100_config("densenet100_bc", DENSENET_TRAINING, topology="merge-1"),
    },
}
