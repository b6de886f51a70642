"""Architecture presets of `DHNN` (Koo, Klabjan, Utke 2018): the paper's sizes and CPU presets.

The paper's sizes (Sec. 4): CNN-RNN (FPL) with 3 bidirectional LSTM layers and
RNN input / hidden sizes of 512; CNN-S2S with one layer, input/hidden 256/512
for the linear / conv / pool comparison and 2048/1024 for the large pooling
model (`_large`); 224x224 RGB input, batch 32. The paper's datasets (a
proprietary one and an Open Images subset) are not available, so these
presets carry the CIFAR-100 tree as a placeholder: pass `hierarchy=` for
your own. Optimizer and schedule are not published: ours.

The CPU presets (`small_*_fashion_mnist`) use the small backbone on
Fashion-MNIST 28x28x1 and its 3-level tree.
"""

from hier_keras.presets.constants import (
    CIFAR100_MEAN,
    CIFAR100_STD,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
)

CPU_TRAINING = {
    "optimizer": "adam", "learning_rate": 2e-3, "schedule": {"type": "cosine"},
    "batch_size": 128, "epochs": 10, "augment": False, "padding": "zero",
}
PAPER_TRAINING = {
    "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "weight_decay": 1e-4,
    "schedule": {"type": "cosine"}, "batch_size": 32, "epochs": 30, "augment": True,
    "padding": "zero",
}


def _fashion(decoder, **extra):
    return {
        "hierarchy": "fashion_mnist", "input_shape": [28, 28, 1], "backbone": "small",
        "mean": FASHION_MNIST_MEAN, "std": FASHION_MNIST_STD, "decoder": decoder,
        "training_config": dict(CPU_TRAINING), **extra,
    }


def _paper(backbone, decoder, input_dim, units, **extra):
    return {
        "hierarchy": "cifar100", "input_shape": [224, 224, 3], "backbone": backbone,
        "mean": CIFAR100_MEAN, "std": CIFAR100_STD, "decoder": decoder,
        "converter": "pool", "input_dim": input_dim, "units": units,
        "training_config": dict(PAPER_TRAINING), **extra,
    }


PRESETS = {
    "small_rnn_fashion_mnist": {
        "description": "small CPU backbone, 3 taps, pool converter p=128, 2-layer BiLSTM 128, "
                       "residual arcs (FPL), Fashion-MNIST 28x28x1",
        "config": _fashion("rnn", input_dim=128, units=128, rnn_layers=2, residual=True),
    },
    "small_s2s_fashion_mnist": {
        "description": "small CPU backbone, 3 taps, pool converter p=128, BiLSTM encoder + "
                       "LSTM decoder 128 with end token (S2S), Fashion-MNIST 28x28x1",
        "config": _fashion("s2s", input_dim=128, units=128, rnn_layers=1),
    },
    "vgg16_rnn": {
        "description": "VGG-16 + 3-layer BiLSTM FPL, p=512, hidden 512, residual arcs (Table 1)",
        "config": _paper("vgg16", "rnn", 512, 512, rnn_layers=3, residual=True),
    },
    "resnet50_rnn": {
        "description": "ResNet-50 + 3-layer BiLSTM FPL, p=512, hidden 512, residual arcs (Table 1)",
        "config": _paper("resnet50", "rnn", 512, 512, rnn_layers=3, residual=True),
    },
    "vgg16_s2s": {
        "description": "VGG-16 + S2S, pool converter, input/hidden 256/512 (Tables 2-3)",
        "config": _paper("vgg16", "s2s", 256, 512),
    },
    "resnet50_s2s": {
        "description": "ResNet-50 + S2S, pool converter, input/hidden 256/512 (Tables 2-3)",
        "config": _paper("resnet50", "s2s", 256, 512),
    },
    "resnet50_s2s_large": {
        "description": "ResNet-50 + large S2S, pool converter, input/hidden 2048/1024 (Table 3 L)",
        "config": _paper("resnet50", "s2s", 2048, 1024),
    },
    "se_resnet50_s2s": {
        "description": "SE-ResNet-50 + S2S, pool converter, input/hidden 256/512 (Table 3)",
        "config": _paper("se_resnet50", "s2s", 256, 512),
    },
    "cbam_resnet50_s2s": {
        "description": "CBAM-ResNet-50 + S2S, pool converter, input/hidden 256/512 (Table 3)",
        "config": _paper("cbam_resnet50", "s2s", 256, 512),
    },
}
