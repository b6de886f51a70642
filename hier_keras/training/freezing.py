"""Freezing parts of a model: the one place `fine_tune` and `AlternatingTraining` switch layers.

A frozen layer (`trainable = False`) keeps its weights, and in Keras 3 its
BatchNorm layers run in inference mode (moving statistics are used and not
updated), which is what fine-tuning a pretrained backbone needs.

Example:

>>> import hier_keras as hk
>>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist")
>>> set_trainable(model.backbone_layers(), False)
>>> model.backbone.trainable
False
"""

from __future__ import annotations


def set_trainable(layers, trainable: bool, model=None) -> None:
    """Set `trainable` on each layer; with `model`, retrace its compiled train step.

    The compiled train function captured the old trainable variables, so a
    switch during `fit` needs `model` (callbacks pass it).
    """
    for layer in layers:
        layer.trainable = bool(trainable)
    if model is not None and getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)
