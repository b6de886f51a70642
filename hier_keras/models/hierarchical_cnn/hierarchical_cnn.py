"""`HierarchicalCNN`: Guo et al.'s CNN-based generators and the single-level baselines.

Guo, Liu, Bakker, Guo, Lew (2018), "CNN-RNN: a large-scale hierarchical image
classification framework", Sec. 3.1, Fig. 2 (strategies 1-3) and Table 4.
The last layer of a backbone is replaced by one supervised layer per level:

- `"coarse_to_fine"` (strategy 1, serial): feature -> level-0 layer ->
  level-1 layer -> ... (each layer reads the previous level's logits);
- `"fine_to_coarse"` (strategy 2, serial): feature -> finest layer -> ... ->
  level-0 layer;
- `"parallel"` (strategy 3): every level's layer reads the feature;
- `"single"`: one layer for one level (`level`, default the finest): the
  *fine-specific* / *coarse-specific* baselines of Table 4. Coarser levels
  get the marginal probabilities (sum over children), so a fine-specific
  model is consistent by construction; finer levels are not predicted.

Loss (eq. 1): the sum of the per-level softmax cross-entropies (masked where
labels are -1), each level weighted by `level_weights`.
"""

from __future__ import annotations

import numpy as np
from keras import layers, ops

from hier_keras.models.base import HierarchicalModel
from hier_keras.models.hierarchical_cnn.hierarchical_cnn_presets import PRESETS
from hier_keras.models.registry import register_family

HEADS = ("coarse_to_fine", "fine_to_coarse", "parallel", "single")


@register_family
class HierarchicalCNN(HierarchicalModel):
    """Backbone + per-level classification layers (Guo et al. 2018, Sec. 3.1).

    Args:
        hierarchy: `Hierarchy` (or its dict).
        input_shape: `(height, width, channels)`.
        backbone: a registered backbone name (`hk.backbones.list_backbones()`).
        backbone_kwargs: dict forwarded to the backbone builder.
        head: one of `"coarse_to_fine"`, `"fine_to_coarse"`, `"parallel"`,
            `"single"`. Defaults to `"parallel"`.
        level: with `head="single"`, the level predicted (name or index).
            Defaults to the finest level.
        dropout: dropout rate on the feature vector before the heads.
        **kwargs: `HierarchicalModel` arguments (`mean`, `std`,
            `level_weights`, `training_config`, `name`).

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
    ...                                               head="single", level="fine")
    >>> out = model.predict(np.zeros((2, 28, 28, 1)), verbose=0)
    >>> {k: v.shape for k, v in sorted(out.items())}
    {'coarse': (2, 2), 'fine': (2, 10), 'medium': (2, 6)}
    """

    presets = PRESETS
    family_key = "hierarchicalcnn"

    def __init__(self, hierarchy, input_shape, backbone="small", backbone_kwargs=None,
                 head="parallel", level=None, dropout=0.0, **kwargs):
        if head not in HEADS:
            raise ValueError(f"Unknown head {head!r}; choose one of {HEADS}.")
        self.head = head
        self.dropout_rate = float(dropout)
        self._level_arg = level
        super().__init__(hierarchy, input_shape, **kwargs)
        tree = self.hierarchy
        self.level = tree.level_index(level) if level is not None else tree.depth - 1
        # === Layers ===
        self.backbone = self.make_backbone(backbone, backbone_kwargs)
        self.feature_dropout = layers.Dropout(self.dropout_rate, name="feature_dropout",
                                              dtype="float32")
        levels = [self.level] if head == "single" else range(tree.depth)
        self.classifiers = {
            tree.level_names[l]: layers.Dense(tree.level_sizes[l], name=f"{tree.level_names[l]}_logits",
                                                 dtype="float32")
            for l in levels
        }
        self._memberships = [tree.membership(l) for l in range(tree.depth - 1)]
        self.build_model()

    @property
    def output_levels(self):
        if getattr(self, "head", None) == "single":
            level = self.hierarchy.level_index(self._level_arg) if self._level_arg is not None \
                else self.hierarchy.depth - 1
            return self.hierarchy.level_names[: level + 1]
        return self.hierarchy.level_names

    def forward(self, images, training=False):
        v = self.backbone(images, training=training)["features"]
        v = self.feature_dropout(ops.cast(v, "float32"), training=training)
        names = self.hierarchy.level_names
        logits = {}
        if self.head == "parallel" or self.head == "single":
            for name, dense in self.classifiers.items():
                logits[name] = dense(v)
        elif self.head == "coarse_to_fine":
            x = v
            for name in names:
                x = logits[name] = self.classifiers[name](x)
        else:
            x = v
            for name in reversed(names):
                x = logits[name] = self.classifiers[name](x)
            logits = {n: logits[n] for n in names}
        return logits

    def call(self, images, training=False):
        outputs = super().call(images, training=training)
        if self.head == "single":
            # Coarser levels: marginal probabilities through the membership matrices.
            names = self.hierarchy.level_names
            for l in range(self.level, 0, -1):
                member = ops.convert_to_tensor(self._memberships[l - 1])
                outputs[names[l - 1]] = ops.matmul(outputs[names[l]], member)
            outputs = {n: outputs[n] for n in names[: self.level + 1]} | (
                {"_logits": outputs["_logits"]} if training else {})
        return outputs

    def predict_label_paths(self, images, batch_size=256, probs=None, given=None):
        """Paths; a single-level head's path is its predicted class and that class's ancestors."""
        if self.head != "single" or given is not None:
            return super().predict_label_paths(images, batch_size, probs, given)
        if probs is None:
            probs = self.predict(images, batch_size=batch_size, verbose=0)
        name = self.hierarchy.level_names[self.level]
        ids = np.argmax(probs[name], axis=-1)
        return self.hierarchy.complete(ids, level=self.level)

    def get_config(self):
        config = super().get_config()
        config.update(
            head=self.head,
            level=self._level_arg,
            dropout=self.dropout_rate,
        )
        return config
