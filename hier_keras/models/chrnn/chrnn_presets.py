"""Architecture presets of `CHRNN`: the paper's 224 px networks and small CPU presets.

Paper presets (Zuo et al. 2016, Table I, Sec. IV-A): SPP-net conv1-5, hrnn6 on
{6x6, 3x3, 2x2, 1x1} with 256 channels, fc7/fc8 of 4096 with dropout 0.5;
SGD with momentum 0.9, batch 256, learning rate 0.01 "divided by 10 when the
accuracy stops increasing" (a plateau schedule: pass `hk.training.plateau_callback(model)`
to `fit`, as `hier-keras train` does; the config itself keeps the rate constant). The paper trains on
ILSVRC 2012 (flat, 1000 classes); here the presets carry the CIFAR-100 tree
at 224 px (upsampled CIFAR-100 or any image folder: pass `hierarchy=` for
another tree). Their names are the paper's variant names.

CPU presets: `small_fashion_mnist` (C-HLSTM on `sppnet_small`, 64 channels)
and `small_cifar100`; every variant is one override away:
`CHRNN.from_preset("small_fashion_mnist", variant="c_hsrn")`.
"""

from hier_keras.presets.constants import (
    CPU_TRAINING,
    cifar100_config,
    fashion_mnist_config,
    plateau_sgd_training,
)

IMAGENET_MEAN = [123.68, 116.78, 103.94]
IMAGENET_STD = [58.40, 57.12, 57.38]

PAPER_TRAINING = plateau_sgd_training(batch_size=256, augment=True, patience=3)


def paper_config(variant):
    return {
        "hierarchy": "cifar100", "input_shape": [224, 224, 3], "backbone": "sppnet",
        "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "training_config": dict(PAPER_TRAINING),
        "variant": variant, "scales": [6, 3, 2, 1], "fc_units": [4096, 4096], "dropout": 0.5,
        "rnn_dropout": 0.5,
    }


# Adam: the variants' feature scales differ (ReLU SRN sums vs bounded LSTM states), and SGD at
# the CPU presets' 0.05 diverges for C-HSRN / C-HLSTM in the first epoch; Adam 2e-3 trains all.
SMALL_TRAINING = dict(CPU_TRAINING, optimizer="adam", learning_rate=2e-3)
SMALL = {"variant": "c_hlstm", "fc_units": [256], "dropout": 0.25, "rnn_dropout": 0.25}

PRESETS = {
    "c_hlstm": {"description": "C-HLSTM: SPP-net conv1-5 + HLSTM {6,3,2,1} (256) + fc 4096x2, "
                               "224 px (Zuo et al. 2016 Table I/II)",
                "config": paper_config("c_hlstm")},
    "c_hsrn": {"description": "C-HSRN: SPP-net conv1-5 + HSRN (ReLU) + fc 4096x2, 224 px",
               "config": paper_config("c_hsrn")},
    "c_mlstm": {"description": "C-MLSTM: spatial LSTMs per scale, no cross-scale links, 224 px",
                "config": paper_config("c_mlstm")},
    "c_msrn": {"description": "C-MSRN: spatial SRNs per scale, no cross-scale links, 224 px",
               "config": paper_config("c_msrn")},
    "spp_net": {"description": "SPP-net baseline: conv1-5 + {6,3,2,1} pyramid + fc 4096x2, 224 px",
                "config": paper_config("spp_net")},
    "modified_cnn": {"description": "modified CNN control of C-HSRN (Sec. IV-C.2): every "
                                    "recurrent matrix a 1x1 conv, 224 px",
                     "config": paper_config("modified_cnn")},
    "small_fashion_mnist": {
        "description": "C-HLSTM on sppnet_small (64 ch, 7x7 conv map) + fc256, Fashion-MNIST "
                       "28x28x1; other variants via variant=...",
        "config": fashion_mnist_config("sppnet_small", training_config=dict(SMALL_TRAINING),
                                       **SMALL),
    },
    "small_cifar100": {
        "description": "C-HLSTM on sppnet_small (64 ch, 8x8 conv map) + fc256, CIFAR-100 32x32x3",
        "config": cifar100_config("sppnet_small", SMALL_TRAINING, **SMALL),
    },
}
