"""Preset settings shared by every family: dataset statistics and training recipes.

Each family's `<family>_presets.py` builds its presets from these, so a dataset's
mean/std or a paper's schedule is written once.

Example:

>>> fashion_mnist_config("small")["input_shape"]
[28, 28, 1]
"""

FASHION_MNIST_MEAN = 72.94  # train split, raw pixel units (0.2860 * 255)
FASHION_MNIST_STD = 90.02   # (0.3530 * 255)
CIFAR100_MEAN = [129.30, 124.07, 112.43]
CIFAR100_STD = [68.17, 65.39, 70.42]

CPU_TRAINING = {
    "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True,
    "weight_decay": 5e-4, "schedule": {"type": "cosine"}, "batch_size": 128, "epochs": 10,
    "augment": True, "padding": "zero",
}

# Guo et al. 2018 Sec. 4: wrn-28-10 follows Zagoruyko & Komodakis (lr 0.1 x0.2) with
# batch 200 and drops at 20k/40k/60k of 70k iterations; wider-ResNet: lr 0.1 x0.1 at
# 40k/60k of 70k; both SGD momentum 0.9, weight decay 5e-4.
WRN_TRAINING = {
    "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True,
    "weight_decay": 5e-4, "batch_size": 200, "steps": 70000,
    "schedule": {"type": "piecewise", "boundaries": [20000, 40000, 60000], "factor": 0.2},
    "augment": True, "padding": "zero",
}
WIDER_RESNET_TRAINING = {
    "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "weight_decay": 5e-4,
    "batch_size": 200, "steps": 70000,
    "schedule": {"type": "piecewise", "boundaries": [40000, 60000], "factor": 0.1},
    "augment": True, "padding": "zero",
}
CNN7_TRAINING = dict(WIDER_RESNET_TRAINING)


def fashion_mnist_config(backbone, **extra):
    """A Fashion-MNIST (28x28x1) preset config on `backbone` with the CPU recipe."""
    return {
        "hierarchy": "fashion_mnist", "input_shape": [28, 28, 1], "backbone": backbone,
        "mean": FASHION_MNIST_MEAN, "std": FASHION_MNIST_STD,
        "training_config": dict(CPU_TRAINING), **extra,
    }


def cifar100_config(backbone, training, **extra):
    """A CIFAR-100 (32x32x3) preset config on `backbone` with a paper's `training` recipe."""
    return {
        "hierarchy": "cifar100", "input_shape": [32, 32, 3], "backbone": backbone,
        "mean": CIFAR100_MEAN, "std": CIFAR100_STD, "training_config": dict(training), **extra,
    }


def plateau_sgd_training(batch_size, augment, patience):
    """SGD 0.01 (momentum 0.9, weight decay 5e-4) "reduced whenever the performance plateaus".

    The recipe of the min-pooling paper and of Zuo et al. 2016. The rate is
    constant under `compile()`; `hk.training.plateau_callback(model)` builds
    the reduction from `reduce_lr_on_plateau`.
    """
    return {
        "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": False,
        "weight_decay": 5e-4, "schedule": {"type": "constant"}, "batch_size": batch_size,
        "augment": augment, "padding": "zero",
        "reduce_lr_on_plateau": {"monitor": "val_fine_accuracy", "mode": "max", "factor": 0.1,
                                 "patience": patience, "min_lr": 1e-5},
    }
