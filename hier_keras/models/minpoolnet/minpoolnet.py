"""`MinPoolNet`: fine classes learnt from partly coarse-only labels by min-pooling class maps.

Weak supervision with min-pooling (the paper survives in part; Sec. IV-C to V,
eq. 2-7, Tables I-V). Some images (S_fine) have fine and coarse labels, the others (S_coarse)
only coarse ones.

Architecture:

1. A base net ends in **one feature map per fine class** `M_f^j`:
   - `map_head="conv"` (NIN and other backbones that end in a feature map):
     a 1x1 convolution of the last stage to `F` channels, no activation (the
     NIN paper's last mlpconv layer with `F` outputs, softmax removed);
     `d = H x W` positions;
   - `map_head="fc"` (AlexNets): the backbone's feature vector (FC1024 for
     the small AlexNet) feeds `F` parallel FC`d` layers (`d = map_size = 36`
     in the paper), implemented as one `Dense(F * d)` viewed as `(d, F)` maps.
2. `ChildMinPooling`: every coarser class's map is the element-wise minimum
   of its children's maps, level by level towards the root.
3. `ClassWiseGlobalAveragePooling`: one score per map (eq. 2-3); a softmax
   per level gives the output probabilities.

Loss (eq. 7), per image, summed over the batch and divided by its size:

    l(x) = 1(x) l_f(x) + lambda * l_c(x)

with `1(x) = 1` where the fine label is known (`>= 0`) and `0` where it is
`-1`. For deeper trees every coarser level is a min-pooled level and adds
`lambda * 1_l(x) l_l(x)`, its own indicator taken from its `-1` labels
(`level_weights`, when given, replace `[lambda, ..., lambda, 1]`). Unlike the
package's default loss (per-level mean over the labelled samples), eq. 7
averages over *all* images of the batch, so the fine term's weight grows with
the share of S_fine in the batch; ratio-keeping batches
(`hk.data.ratio_batches`) hold that share fixed, as in the paper.

Our choices where the text is silent: the map head has no activation
(scores are logits); the coarse probabilities are the softmax of the
min-pooled scores (they need not agree with the fine prediction, which
`consistency` measures).
"""

from __future__ import annotations

import numpy as np
from keras import layers, ops

from hier_keras.data.whitening import Whitening
from hier_keras.layers.child_min_pooling import (
    ChildMinPooling,
    ClassWiseGlobalAveragePooling,
)
from hier_keras.losses import masked_sparse_categorical_crossentropy
from hier_keras.models.base import HierarchicalModel
from hier_keras.models.minpoolnet.minpoolnet_presets import PRESETS
from hier_keras.models.registry import register_family
from hier_keras.outputs import public_outputs

MAP_HEADS = ("conv", "fc")
REDUCTIONS = ("batch", "labelled")
#: Backbones whose class maps come from FC layers (`map_head="fc"` by default).
FC_BACKBONES = ("alexnet", "alexnet_small")


def minpool_loss(y, logits, level_weights, reduction="batch"):
    """Eq. 7: `mean_batch(sum_l w_l * 1_l(x) * CE_l(x))`, `1_l(x) = [y[:, l] >= 0]`.

    Args:
        y: int `(batch, depth)` labels, `-1` (or `-2`) where unknown.
        logits: list of `(batch, n_l)` scores, coarsest first.
        level_weights: one weight per level (the paper: `[lambda, ..., 1]`).
        reduction: `"batch"` (eq. 7: every level's terms summed over the
            batch and divided by the batch size) or `"labelled"` (each
            level's terms averaged over the samples labelled at that level).

    Returns:
        Scalar float32. A sample's fine term and its gradient are exactly 0
        where its fine label is negative.

    Example:

    >>> import numpy as np
    >>> y = np.array([[0, 1], [1, -1]])
    >>> z = [np.zeros((2, 2), "float32"), np.zeros((2, 3), "float32")]
    >>> round(float(minpool_loss(y, z, [1.0, 1.0])), 4)  # (log2 + log3 + log2) / 2
    1.2425
    >>> round(float(minpool_loss(y, z, [1.0, 1.0], "labelled")), 4)  # log2 + log3
    1.7918
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"Unknown loss reduction {reduction!r}; choose one of {REDUCTIONS}.")
    y = ops.cast(y, "int32")
    total = ops.zeros((), "float32")
    for level, (scores, weight) in enumerate(zip(logits, level_weights)):
        if not weight:
            continue
        per_sample, mask = masked_sparse_categorical_crossentropy(y[:, level], scores)
        if reduction == "batch":
            term = ops.mean(per_sample)
        else:  # the numerator is 0 whenever the count is, so the maximum only avoids 0/0
            term = ops.sum(per_sample) / ops.maximum(ops.sum(mask), 1.0)
        total = total + float(weight) * term
    return total


@register_family
class MinPoolNet(HierarchicalModel):
    """Base net with one map per fine class + min-pooled coarse maps (weak supervision).

    Paper: weak supervision with min-pooling (eq. 2-7); see the module
    docstring for the architecture and loss.

    Args:
        hierarchy: `Hierarchy` (or its dict). Any depth; one base map per
            leaf (per fine class for fixed-depth trees).
        input_shape: `(height, width, channels)`.
        backbone: a registered backbone name (`"nin"`, `"nin4"`,
            `"alexnet"`, `"alexnet_small"`, `"small"`, ...).
        backbone_kwargs: dict forwarded to the backbone builder.
        map_head: `"conv"` (1x1 conv of the last stage map) or `"fc"`
            (`F` parallel FC`map_size` layers on the feature vector).
            Defaults to `"fc"` for AlexNets, else `"conv"`.
        map_size: `d`, positions per map of the `"fc"` head. Defaults to 36.
        coarse_loss_weight: lambda of eq. 7 (weight of every coarser level's
            loss). Defaults to 1 (the paper's best, Fig. 5). 0 trains the
            plain fine classifier (the paper's baseline and oracle).
        loss_reduction: `"batch"` (eq. 7 as written: the sum over the batch
            divided by its size, so the fine term's weight is the share of
            fine-labelled images) or `"labelled"` (each level averaged over
            the images labelled at that level, as the package's default loss;
            equal to eq. 7 with the fine term scaled by batch size / fine
            count). Defaults to `"batch"`.
        whitening: optional fitted `hk.data.whitening.Whitening` (or its
            `to_config()` dict): GCN + ZCA applied to the raw images inside
            the model instead of the mean/std normalisation. Kept in the
            config, so a saved preset carries it.
        **kwargs: `HierarchicalModel` arguments (`mean`, `std`,
            `level_weights`, `training_config`, `name`).

    Example:

    >>> import numpy as np
    >>> from hier_keras.models.minpoolnet import MinPoolNet
    >>> model = MinPoolNet.from_preset("small_fashion_mnist")
    >>> out = model.predict(np.zeros((2, 28, 28, 1)), verbose=0)
    >>> {k: v.shape for k, v in sorted(out.items())}
    {'coarse': (2, 2), 'fine': (2, 10), 'medium': (2, 6)}
    >>> {k: v.shape for k, v in model.class_maps(np.zeros((1, 28, 28, 1))).items()}["fine"]
    (1, 7, 7, 10)
    """

    presets = PRESETS
    family_key = "minpoolnet"
    tiny_overrides = {"backbone": "small", "backbone_kwargs": {"widths": [4, 8, 8]},
                      "map_head": "conv"}

    def __init__(self, hierarchy, input_shape, backbone="small", backbone_kwargs=None,
                 map_head=None, map_size=36, coarse_loss_weight=1.0, loss_reduction="batch",
                 whitening=None, **kwargs):
        if map_head is None:
            map_head = "fc" if backbone in FC_BACKBONES else "conv"
        if map_head not in MAP_HEADS:
            raise ValueError(f"Unknown map_head {map_head!r}; choose one of {MAP_HEADS}.")
        if coarse_loss_weight < 0:
            raise ValueError(
                f"`coarse_loss_weight` (lambda of eq. 7) must be >= 0; received "
                f"{coarse_loss_weight}."
            )
        if loss_reduction not in REDUCTIONS:
            raise ValueError(
                f"Unknown loss_reduction {loss_reduction!r}; choose one of {REDUCTIONS}."
            )
        if int(map_size) < 1:
            raise ValueError(f"`map_size` must be a positive int; received {map_size}.")
        self.map_head = map_head
        self.map_size = int(map_size)
        self.coarse_loss_weight = float(coarse_loss_weight)
        self.loss_reduction = loss_reduction
        self.whitening = None if whitening is None else Whitening.from_config(whitening)
        super().__init__(hierarchy, input_shape, **kwargs)
        if self.whitening is not None:
            self.whitening.check_fitted()
            self.whitening.check_shape(self.image_shape)
            self._whitening_constants = (
                None if not self.whitening.zca else
                (np.asarray(self.whitening.mean, np.float32),
                 np.asarray(self.whitening.matrix, np.float32))
            )
        tree = self.hierarchy
        self.num_maps = int(tree.node_is_leaf().sum())
        # === Layers ===
        self.backbone = self.make_backbone(backbone, backbone_kwargs)
        if map_head == "conv":
            self.map_layer = layers.Conv2D(self.num_maps, 1, kernel_initializer="he_normal",
                                           name="class_maps")
        else:
            self.map_layer = layers.Dense(self.num_maps * self.map_size,
                                          kernel_initializer="he_normal", name="class_maps")
        self.min_pooling = ChildMinPooling(tree, name="child_min_pooling")
        self.class_pooling = ClassWiseGlobalAveragePooling(name="class_gap")
        self.build_model()

    # ----------------------------------------------------------- forward
    def normalize(self, images):
        """Mean/std normalisation, or GCN + ZCA when the model has a `whitening`."""
        if self.whitening is None:
            return super().normalize(images)
        w = self.whitening
        x = ops.cast(images, "float32")
        flat = ops.reshape(x, (-1, int(np.prod(self.image_shape))))
        if w.gcn:
            flat = flat - ops.mean(flat, axis=1, keepdims=True)
            norm = ops.sqrt(w.sqrt_bias + ops.sum(ops.square(flat), axis=1, keepdims=True))
            norm = norm / w.scale
            norm = ops.where(norm < w.min_divisor, ops.ones_like(norm), norm)
            flat = flat / norm
        if w.zca:
            mean, matrix = self._whitening_constants
            flat = ops.matmul(flat - ops.convert_to_tensor(mean), ops.convert_to_tensor(matrix))
        return ops.cast(ops.reshape(flat, (-1,) + self.image_shape), self.compute_dtype)

    def leaf_maps(self, images, training=False):
        """Normalised images -> `(batch, *positions, n_leaves)` base class maps."""
        outputs = self.backbone(images, training=training)
        if self.map_head == "conv":
            last = sorted((k for k in outputs if k.startswith("stage_")),
                          key=lambda k: int(k.split("_")[1]))[-1]
            return self.map_layer(outputs[last])
        maps = self.map_layer(outputs["features"])
        maps = ops.reshape(maps, (-1, self.num_maps, self.map_size))
        return ops.transpose(maps, (0, 2, 1))

    def forward(self, images, training=False):
        per_level = self.min_pooling(self.leaf_maps(images, training=training))
        return {name: self.class_pooling(m) for name, m in zip(self.level_names, per_level)}

    def class_maps(self, images, batch_size=64) -> dict:
        """Per-level class maps `{level_name: (N, *positions, n_level)}` of raw images (NumPy)."""
        images = self.check_images(images)
        out = {n: [] for n in self.level_names}
        for start in range(0, len(images), batch_size):
            x = self.normalize(ops.convert_to_tensor(images[start:start + batch_size]))
            for name, m in zip(self.level_names, self.min_pooling(self.leaf_maps(x))):
                out[name].append(ops.convert_to_numpy(m))
        return {n: np.concatenate(v) for n, v in out.items()}

    # ----------------------------------------------------------- training
    @property
    def loss_level_weights(self) -> list[float]:
        """Per-level weights of eq. 7: `level_weights`, else `[lambda, ..., lambda, 1]`."""
        if self.level_weights is not None:
            return [float(w) for w in self.level_weights]
        return [self.coarse_loss_weight] * (self.hierarchy.depth - 1) + [1.0]

    def hierarchical_loss(self, y, y_pred):
        """Eq. 7 on the training logits (see `minpool_loss`)."""
        scores = y_pred.get("_logits")
        if scores is None:  # probabilities (e.g. a loss on predict() outputs)
            scores = {n: ops.log(ops.maximum(p, 1e-7))
                      for n, p in public_outputs(y_pred).items()}
        return minpool_loss(y, [scores[n] for n in self.level_names], self.loss_level_weights,
                            self.loss_reduction)

    # ----------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            map_head=self.map_head,
            map_size=self.map_size,
            coarse_loss_weight=self.coarse_loss_weight,
            loss_reduction=self.loss_reduction,
            whitening=None if self.whitening is None else self.whitening.to_config(),
        )
        return config
