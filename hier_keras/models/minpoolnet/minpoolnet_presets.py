"""Architecture presets of `MinPoolNet`: the paper's CIFAR-100 setups and CPU presets.

Paper settings (min-pooling paper, Sec. IV-D and V-A/B): SGD with momentum
0.9, weight decay 5e-4, initial learning rate 0.01 "further reduced whenever
the model performance reaches plateau", mini-batches of 128-400 that keep the
|S_fine| : |S_coarse| ratio, lambda = 1, GCN + ZCA preprocessing.

How to apply the parts a config cannot:

- **Plateau schedule**: the training config keeps the learning rate constant
  and names the reduction under `"reduce_lr_on_plateau"`; pass
  `hk.training.plateau_callback(model)` (a `keras.callbacks.ReduceLROnPlateau`) to
  `fit`, with validation data that has the monitored metric.
- **GCN + ZCA**: fit it on the train split and pass it in:
  `MinPoolNet.from_preset("nin", whitening=hk.data.whitening.fit_whitening(x_train))`;
  the fitted parameters are then part of the model config (and of a saved
  preset). Without it the preset normalises with the CIFAR-100 mean/std.
- **Ratio-keeping batches**: `hk.data.ratio_batches`.
"""

from hier_keras.presets.constants import (
    CPU_TRAINING,
    cifar100_config,
    fashion_mnist_config,
    plateau_sgd_training,
)

PAPER_TRAINING = plateau_sgd_training(batch_size=128, augment=False, patience=5)

PRESETS = {
    "nin": {
        "description": "NIN (3 mlpconv) with one 8x8 map per fine class, CIFAR-100 32x32x3 "
                       "(paper Table I); SGD 0.01, LR reduced on plateau via "
                       "hk.training.plateau_callback(model); GCN+ZCA via whitening=fit_whitening(x_train)",
        "config": cifar100_config("nin", PAPER_TRAINING, map_head="conv"),
    },
    "alexnet_small": {
        "description": "small AlexNet (3 conv + FC1024 + one FC36 per fine class, d=36), "
                       "CIFAR-100 32x32x3 (paper Table I); SGD 0.01, LR reduced on plateau "
                       "via hk.training.plateau_callback(model); GCN+ZCA via whitening=...",
        "config": cifar100_config("alexnet_small", PAPER_TRAINING, map_head="fc", map_size=36),
    },
    "small_fashion_mnist": {
        "description": "small CPU backbone, 1x1 conv to one 7x7 map per fine class, "
                       "Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("small", map_head="conv"),
    },
    "alexnet_small_fashion_mnist": {
        "description": "small AlexNet (3 conv + FC1024 + 10 x FC36), Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("alexnet_small", map_head="fc", map_size=36,
                                       training_config=dict(CPU_TRAINING, learning_rate=0.01)),
    },
    "nin_fashion_mnist": {
        "description": "NIN (3 mlpconv, quarter width, BatchNorm), one 7x7 map per fine "
                       "class, Fashion-MNIST 28x28x1",
        "config": fashion_mnist_config("nin", map_head="conv",
                                       backbone_kwargs={"width": 0.25, "batch_norm": True}),
    },
}
