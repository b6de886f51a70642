"""`CHRNN`: convolutional hierarchical RNNs (Zuo et al. 2016) with per-level heads.

Zuo, Shuai, Wang, Liu, Wang, Wang (2016), "Learning Contextual Dependencies with
Convolutional Hierarchical Recurrent Neural Networks", Sec. III, Table I.

    conv1-5 (SPP-net, Table I)  ->  pyramid pooling {6x6, 3x3, 2x2, 1x1}
    -> hrnn6: spatial RNN per scale (4 directions) + cross-scale links (eq. 10-24),
       dropout 0.5
    -> H = concatenation of every scale's outputs (eq. 25)
    -> fc7, fc8: 4096, ReLU, dropout 0.5
    -> one softmax layer per level (the paper is flat; here every level of the
       hierarchy gets its own layer on fc8, HierarchicalCNN's "parallel" heads)

Variants (`variant`):

- `"c_hsrn"` / `"c_hlstm"`: HSRN / HLSTM, spatial and scale dependencies;
- `"c_msrn"` / `"c_mlstm"`: spatial RNNs per scale, no cross-scale links (C-MRNN);
- `"spp_net"`: no RNN, the pyramid goes straight to fc7 (SPP-net);
- `"modified_cnn"` / `"modified_cnn_lstm"`: the control of Sec. IV-C.2: same
  matrices as C-HSRN / C-HLSTM, each recurrent matrix acting as a 1x1
  convolution at the cell's own position (see `hier_keras.layers.spatial_rnn`).

C-MSRN with `W_hh = 0`, `W_xh = I` and zero biases reproduces SPP-net's
features (Sec. IV-A): each direction returns ReLU(x) = x for post-ReLU conv
features, so the sum over `D` directions is `D` times SPP-net's vector (one
direction: exactly SPP-net's vector); the 1x1 scale passes through.

Loss: the masked per-level cross-entropy of the base class.
"""

from __future__ import annotations

from keras import layers, ops

from hier_keras.layers.spatial_pyramid_pooling import SpatialPyramidPooling
from hier_keras.layers.spatial_rnn import HierarchicalRNN2D, check_directions
from hier_keras.models.base import HierarchicalModel
from hier_keras.models.chrnn.chrnn_presets import PRESETS
from hier_keras.models.registry import register_family

#: variant -> (cell, cross_scale, recurrence); `None`: no RNN (SPP-net).
VARIANTS = {
    "c_hsrn": ("srn", True, "spatial"),
    "c_hlstm": ("lstm", True, "spatial"),
    "c_msrn": ("srn", False, "spatial"),
    "c_mlstm": ("lstm", False, "spatial"),
    "spp_net": None,
    "modified_cnn": ("srn", True, "none"),
    "modified_cnn_lstm": ("lstm", True, "none"),
}


@register_family
class CHRNN(HierarchicalModel):
    """C-HRNN (Zuo et al. 2016): conv1-5 -> pyramid -> hierarchical RNN -> fc7/fc8 -> heads.

    Args:
        hierarchy: `Hierarchy` (or its dict).
        input_shape: `(height, width, channels)`.
        variant: one of `VARIANTS` (`"c_hlstm"`, `"c_hsrn"`, `"c_mlstm"`,
            `"c_msrn"`, `"spp_net"`, `"modified_cnn"`, `"modified_cnn_lstm"`).
            Defaults to `"c_hlstm"`.
        backbone: a registered backbone whose last stage is a feature map
            (`"sppnet"` for 224 px, `"sppnet_small"` for 28-32 px). Only its
            stages are used.
        backbone_kwargs: dict forwarded to the backbone builder.
        scales: pyramid grids, e.g. `[6, 3, 2, 1]` (ints or `(rows, cols)`).
        units: hidden size of the spatial RNNs. Defaults to the number of
            channels of the conv map (256 in the paper).
        directions: `"all"` or a subset of `DIRECTIONS` (Table VI).
        rnn_dropout: dropout on the hrnn6 outputs. Defaults to 0.5.
        fc_units: sizes of the fully connected layers (fc7, fc8). Defaults
            to `[4096, 4096]`.
        dropout: dropout after each fully connected layer. Defaults to 0.5.
        implementation: `"wavefront"` or `"cell"` (the reference).
        **kwargs: `HierarchicalModel` arguments.

    Example:

    >>> import numpy as np
    >>> from hier_keras.models.chrnn import CHRNN
    >>> model = CHRNN.from_preset("small_fashion_mnist", variant="c_hsrn")
    >>> out = model.predict(np.zeros((2, 28, 28, 1)), verbose=0)
    >>> {k: v.shape for k, v in sorted(out.items())}
    {'coarse': (2, 2), 'fine': (2, 10), 'medium': (2, 6)}
    """

    presets = PRESETS
    family_key = "chrnn"
    tiny_overrides = {"backbone": "sppnet_small", "backbone_kwargs": {"widths": [4, 8, 8]},
                      "units": 8, "fc_units": [16]}

    def __init__(self, hierarchy, input_shape, variant="c_hlstm", backbone="sppnet_small",
                 backbone_kwargs=None, scales=(6, 3, 2, 1), units=None, directions="all",
                 rnn_dropout=0.5, fc_units=(4096, 4096), dropout=0.5,
                 implementation="wavefront", **kwargs):
        if variant not in VARIANTS:
            raise ValueError(f"Unknown variant {variant!r}; choose one of {sorted(VARIANTS)}.")
        self.variant = variant
        self.scales = [s if isinstance(s, int) else list(s) for s in scales]
        self.units_arg = units
        self.directions = check_directions(directions)
        self.rnn_dropout_rate = float(rnn_dropout)
        self.fc_units = [int(u) for u in fc_units]
        self.dropout_rate = float(dropout)
        self.implementation = implementation
        super().__init__(hierarchy, input_shape, **kwargs)
        tree = self.hierarchy
        # === Layers ===
        self.trunk = self.make_backbone(backbone, backbone_kwargs, include_features=False)
        self._last_stage = self.trunk.stage_names[-1]
        if len(self.trunk.stage_shape(self._last_stage)) != 4:
            raise ValueError(
                f"Backbone {self.backbone_name!r} must end in a feature map (batch, h, w, c) "
                f"for CHRNN; its last stage gives "
                f"{self.trunk.stage_shape(self.trunk.num_stages)}.")
        channels = int(self.trunk.stage_shape(self._last_stage)[-1])
        self.units = int(units) if units is not None else channels
        self.pyramid = SpatialPyramidPooling(self.scales, flatten=False, name="pyramid")
        self.hrnn = None
        if VARIANTS[variant] is not None:
            cell, cross, recurrence = VARIANTS[variant]
            self.hrnn = HierarchicalRNN2D(self.units, cell=cell, directions=self.directions,
                                          cross_scale=cross, recurrence=recurrence,
                                          implementation=implementation, name="hrnn6")
        self.rnn_dropout = layers.Dropout(self.rnn_dropout_rate, name="hrnn6_dropout")
        self.fc = [layers.Dense(u, activation="relu", kernel_initializer="he_normal",
                                name=f"fc{7 + i}") for i, u in enumerate(self.fc_units)]
        self.fc_dropout = [layers.Dropout(self.dropout_rate, name=f"fc{7 + i}_dropout")
                           for i in range(len(self.fc_units))]
        self.classifiers = [layers.Dense(size, name=f"{name}_logits", dtype="float32")
                            for name, size in zip(tree.level_names, tree.level_sizes)]
        self.build_model()

    # === Forward ===
    def scale_outputs(self, images, training=False):
        """Per-scale maps after hrnn6 (the pyramid itself for `spp_net`), normalised input."""
        maps = self.pyramid(self.trunk(images, training=training)[self._last_stage])
        if self.hrnn is not None:
            maps = self.hrnn(maps)
        return maps

    def features(self, images, training=False):
        """`H` of eq. 25 (the input of fc7) for raw images: `(batch, sum_l cells_l * dim_l)`."""
        return self._flatten(self.scale_outputs(self.normalize(images), training=training))

    @staticmethod
    def _flatten(maps):
        return ops.concatenate([ops.reshape(m, (-1, m.shape[1] * m.shape[2] * m.shape[3]))
                                for m in maps], axis=-1)

    def forward(self, images, training=False):
        maps = self.scale_outputs(images, training=training)
        x = self._flatten(maps)
        if self.hrnn is not None:
            x = self.rnn_dropout(x, training=training)
        for dense, drop in zip(self.fc, self.fc_dropout):
            x = drop(dense(x), training=training)
        x = ops.cast(x, "float32")
        return {name: head(x) for name, head in zip(self.hierarchy.level_names, self.classifiers)}

    # === Config ===
    def get_config(self):
        config = super().get_config()
        config.update(
            variant=self.variant, scales=self.scales, units=self.units_arg,
            directions=list(self.directions), rnn_dropout=self.rnn_dropout_rate,
            fc_units=self.fc_units, dropout=self.dropout_rate,
            implementation=self.implementation,
        )
        return config
