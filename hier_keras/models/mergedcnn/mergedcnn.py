"""`MergedCNN`: partially merged coarse/fine networks (Dutt et al. 2017, Sec. 3.4, Fig. 2).

Dutt, Pellerin, Quenot (2017), "Improving Hierarchical Image Classification with
Merged CNN Architectures". A backbone is split at its stages (the points where
the feature maps are down-sampled; `Backbone.copy_stages`) and one
tower per hierarchy level is built:

- `"merge-k"` (k = 0 .. number of stages): the first `k` stages are built
  once and shared by every level (layer names `trunk_s1`, ...); the
  remaining stages, the pooling head and the classifier are copied per
  level (`<level>_s<k+1>`, ..., `<level>_pool`, `<level>_logits`).
  `merge-3` (all stages of a 3-stage backbone) is one tower with one softmax
  head per level: joint training where only the loss separates the levels;
  `merge-0` is one tower per level, all fed the same images, losses summed.
- `"separate"`: the usual setting, one independently trained network per
  level, combined for prediction. It has merge-0's graph. Training it in one
  `fit` *is* independent training: each tower's weights appear only in its
  own level's loss term, so the gradient of the summed loss with respect to
  a tower is the gradient of that tower's loss alone; SGD (with momentum and
  weight decay) and Adam update every parameter from its own gradient only,
  and batch-norm statistics are per tower. No `stop_gradient` or separate
  optimiser is needed. What one `fit` does share is the sequence of batches
  (and augmentations). For fully separate runs, as in the paper, train one
  model per level with `levels=[level]` (own seed, own data order) and join
  them with `MergedCNN.from_towers(models)`; `benchmarks/mergedcnn.py` does
  exactly that for its `separate` rows.

Deeper trees get one tower (or head) per level. Loss: the sum of the masked
per-level cross-entropies (eq. 1 of Guo et al.; `level_weights` reweights).
Optional test-time classifier adaptation (Algorithm 1, `ClassifierAdaptation`)
on the outputs: `adaptation_alpha`, settable after training with
`set_adaptation_alpha` or tuned by `hk.training.adaptation.tune_alpha`.
"""

from __future__ import annotations

import re

import keras
from keras import layers

from hier_keras.backbones import FunctionalBackbone
from hier_keras.hierarchy import Hierarchy
from hier_keras.models.adaptation import AdaptationMixin
from hier_keras.models.base import HierarchicalModel
from hier_keras.models.mergedcnn.mergedcnn_presets import PRESETS
from hier_keras.models.registry import register_family
from hier_keras.presets.loading import transfer_matching_weights

TRUNK = "trunk"


def parse_topology(topology, num_stages) -> int:
    """Number of shared stages of a topology name (`"separate"` -> 0)."""
    valid = ["separate"] + [f"merge-{k}" for k in range(num_stages + 1)]
    if topology == "separate":
        return 0
    match = re.fullmatch(r"merge-(\d+)", str(topology))
    if match is None or int(match.group(1)) > num_stages:
        raise ValueError(
            f"Unknown topology {topology!r} for a backbone with {num_stages} stages; "
            f"choose one of {valid}."
        )
    return int(match.group(1))


@register_family
class MergedCNN(AdaptationMixin, HierarchicalModel):
    """One tower per level, the first `k` backbone stages shared (Dutt et al. 2017, Fig. 2).

    See the module docstring for the topologies and why `"separate"` towers
    trained in one model are independent.

    Args:
        hierarchy: `Hierarchy` (or its dict).
        input_shape: `(height, width, channels)`.
        backbone: a registered backbone name (`hk.backbones.list_backbones()`),
            e.g. `"small"`, `"preact_resnet164"`, `"densenet100_bc"`.
        backbone_kwargs: dict forwarded to the backbone builder.
        topology: `"separate"`, `"merge-0"`, ..., `"merge-<number of stages>"`.
            Defaults to `"merge-1"` (with merge-2 the best in the paper).
        levels: level names (or ids) this model predicts, one tower each.
            Defaults to every level. A single level gives a standalone tower,
            trained on its own and joined by `from_towers`.
        dropout: dropout rate before each classifier. Defaults to 0.
        adaptation_alpha: `None` (no adaptation) or the classifier-adaptation
            alpha (float or one per level) applied to the outputs.
        adaptation_order: pair order of the adaptation on deeper trees
            (`"coarse_to_fine"` or `"fine_to_coarse"`).
        **kwargs: `HierarchicalModel` arguments (`mean`, `std`,
            `level_weights`, `training_config`, `name`).

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> from hier_keras.models.mergedcnn import MergedCNN
    >>> model = MergedCNN.from_preset("small_fashion_mnist", topology="merge-2",
    ...                               backbone_kwargs={"widths": [4, 8, 8]})
    >>> sorted({w.path.split("_s")[0] for w in model.weights if "_s" in w.path})
    ['coarse', 'fine', 'medium', 'trunk']
    >>> model.set_adaptation_alpha(1.0).adaptation_alpha
    1.0
    >>> out = model.predict(np.zeros((2, 28, 28, 1)), verbose=0)
    >>> {k: v.shape for k, v in out.items()}
    {'coarse': (2, 2), 'medium': (2, 6), 'fine': (2, 10)}
    """

    presets = PRESETS
    family_key = "mergedcnn"

    def __init__(self, hierarchy, input_shape, backbone="small", backbone_kwargs=None,
                 topology="merge-1", levels=None, dropout=0.0, adaptation_alpha=None,
                 adaptation_order="coarse_to_fine", **kwargs):
        self.topology = topology
        self.dropout_rate = float(dropout)
        self._levels_arg = list(levels) if levels is not None else None
        # The levels first: the base class builds its per-level metrics from `output_levels`.
        tree = Hierarchy.coerce(hierarchy)
        if levels is None:
            self._levels = list(tree.level_names)
        else:
            ids = sorted({tree.level_index(l) for l in levels})
            if not ids:
                raise ValueError("`levels` is empty; give at least one level name.")
            self._levels = [tree.level_names[i] for i in ids]
        super().__init__(tree, input_shape, **kwargs)
        # The backbone is a template: its stages are copied (trunk and towers), never called.
        template = self.make_backbone(backbone, backbone_kwargs)
        self.num_stages = template.num_stages
        self.shared_stages = parse_topology(topology, template.num_stages)
        if self.shared_stages not in template.splittable_stages():
            raise ValueError(
                f"Topology {topology!r} splits the backbone {template.name!r} after stage "
                f"{self.shared_stages}, where a branch of its graph crosses; it splits after "
                f"stages {template.splittable_stages()} ('merge-k' for those k).")
        # A wrapped model's weights (maybe pretrained) or loaded `backbone_weights` start every
        # copy; a registered backbone's copies are otherwise freshly drawn.
        self._copy_weights = (self._backbone_weights is not None
                              or isinstance(template, FunctionalBackbone))
        # === Layers ===
        self.network = self._build_network(template)
        self._init_adaptation(adaptation_alpha, adaptation_order)
        self.build_model()

    def _build_network(self, backbone):
        """Functional graph: images -> `{level: logits}` with the first k stages shared."""
        k, tree, n = self.shared_stages, self.hierarchy, backbone.num_stages
        inputs = keras.Input(self.image_shape, name="images")
        copy = self._copy_weights
        x = backbone.copy_stages(inputs, 0, k, TRUNK, copy_weights=copy)
        shared_features = backbone.copy_pool(x, TRUNK) if k == n else None
        outputs = {}
        for name in self._levels:
            if shared_features is not None:
                v = shared_features
            else:
                v = backbone.copy_stages(x, k, n, name, copy_weights=copy)
                v = backbone.copy_pool(v, name)
            if self.dropout_rate:
                v = layers.Dropout(self.dropout_rate, name=f"{name}_dropout")(v)
            size = tree.level_sizes[tree.level_index(name)]
            outputs[name] = layers.Dense(size, dtype="float32", name=f"{name}_logits")(v)
        return keras.Model(inputs, outputs, name="merged_network")

    @property
    def output_levels(self):
        return list(getattr(self, "_levels", None) or self.hierarchy.level_names)

    def backbone_layers(self):
        """The stage copies (trunk and towers): every layer with weights but the classifiers."""
        return [layer for layer in self.network.layers if layer.weights
                and not layer.name.endswith("_logits")]

    def forward(self, images, training=False):
        return self.network(images, training=training)

    def call(self, images, training=False):
        return self._adapt(super().call(images, training=training))

    # ----------------------------------------------------------- structure
    def stage_layers(self) -> dict:
        """`{"trunk": [stage ids], level: [stage ids]}`: which stages each part holds."""
        found: dict = {}
        for layer in self.network.layers:
            m = re.match(r"(.+)_s(\d+)_", layer.name)
            if m:
                found.setdefault(m.group(1), set()).add(int(m.group(2)))
        return {k: sorted(v) for k, v in found.items()}

    @classmethod
    def from_towers(cls, models, **overrides):
        """Join independently trained models (one or more levels each) into one `"separate"` model.

        Each model must be a `MergedCNN` with independent towers (`"separate"`
        or `"merge-0"`) on the same backbone, hierarchy and input shape; their
        levels must not overlap. Tower weights are copied by layer name.

        Args:
            models: the trained models, e.g. one per level (`levels=[name]`).
            **overrides: constructor arguments of the joined model
                (e.g. `adaptation_alpha`).

        Returns:
            A `MergedCNN(topology="separate")` predicting the union of levels.
        """
        models = list(models)
        if not models:
            raise ValueError("`from_towers` needs at least one model.")
        first = models[0]
        seen = []
        for m in models:
            if not isinstance(m, MergedCNN) or m.shared_stages != 0:
                raise ValueError(
                    "`from_towers` joins MergedCNN models with independent towers "
                    f"('separate' or 'merge-0'); received {type(m).__name__} "
                    f"{getattr(m, 'topology', '')!r}."
                )
            if (m.hierarchy != first.hierarchy or m.image_shape != first.image_shape
                    or m.backbone_config != first.backbone_config):
                raise ValueError("`from_towers` needs the same hierarchy, input shape and "
                                 "backbone in every model.")
            overlap = set(seen) & set(m.output_levels)
            if overlap:
                raise ValueError(f"Levels {sorted(overlap)} are predicted by two of the models.")
            seen += m.output_levels
        config = first.get_config()
        config.pop("name", None)
        config.update(topology="separate",
                      levels=[n for n in first.hierarchy.level_names if n in seen],
                      adaptation_alpha=None)
        config.update(overrides)
        joined = cls(**config)
        for m in models:
            transfer_matching_weights(m.network, joined.network)
        return joined

    # ----------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            topology=self.topology,
            levels=self._levels_arg,
            dropout=self.dropout_rate,
            **self.adaptation_config(),
        )
        return config
