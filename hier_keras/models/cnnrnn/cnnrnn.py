"""`CNNRNN`: Guo et al.'s CNN-RNN label-path generator.

Guo, Liu, Bakker, Guo, Lew (2018), "CNN-RNN: a large-scale hierarchical image
classification framework", Sec. 3.2 (eq. 2-8), Fig. 4, Tables 2, 4-7.

A backbone gives the image feature `v`; a `VisualLSTMCell` (eq. 2-7, `v` in
every gate) generates the path one level per step. The input of step `t` is
the embedding of the label of step `t - 1` (a start token at the first step).
All non-root nodes form one "super category" vocabulary (C + F for two
levels); every step's output is a softmax over that vocabulary (eq. 8).

Training (eq. 8): teacher forcing, the ground-truth coarser labels are the
inputs; the loss is the cross-entropy over the whole vocabulary at every step,
masked where the label is -1, summed over steps.

The validation loss (`evaluate`, `val_loss`) is the same teacher-forced
cross-entropy on the evaluation images (the negative log-likelihood of their
true paths), so `loss` and `val_loss` compare: the decoded probabilities would
not do, since a constrained decoder gives the true class probability 0 under a
wrong parent.

Inference (`decoding`):

- `"greedy"`: feed back the argmax (Guo et al.); step `t` picks among the
  level-`t` classes.
- `"constrained"`: greedy, but a step may only emit a child of the previous
  label (consistent by construction).
- `"beam"`: tree-constrained beam search of width `beam_width`.

Per-level probabilities (the output contract): level `t`'s row is the
step-`t` softmax restricted to level `t` (to the allowed children when
constrained) and renormalised, conditioned on the labels decoded before it
(along the best beam for beam search). After a leaf the path has ended
(variable-depth trees): the rows of finer levels are all zeros.

`predict_label_paths(images, given=labels)` is the paper's CNN-RNN*: the
known coarser labels (-1 where unknown) are fed as the first steps and only
the finer levels are predicted.
"""

from __future__ import annotations

import numpy as np
from keras import layers, ops

from hier_keras.layers.tree_decoding import beam_search, greedy_decode
from hier_keras.layers.visual_lstm import VisualLSTMCell
from hier_keras.losses import HierarchicalCrossEntropy
from hier_keras.models.base import HierarchicalModel
from hier_keras.models.cnnrnn.cnnrnn_presets import PRESETS
from hier_keras.models.registry import register_family

DECODINGS = ("greedy", "constrained", "beam")


@register_family
class CNNRNN(HierarchicalModel):
    """CNN backbone + visual LSTM generating the label path (Guo et al. 2018).

    Args:
        hierarchy: `Hierarchy` (or its dict).
        input_shape: `(height, width, channels)`.
        backbone: a registered backbone name.
        backbone_kwargs: dict forwarded to the backbone builder.
        embedding_dim: size of the label embedding. Defaults to 64.
        units: LSTM size. Defaults to 128.
        dropout: dropout on `v` and on the LSTM output. Defaults to 0.
        decoding: `"greedy"`, `"constrained"` or `"beam"`. Defaults to
            `"constrained"`.
        beam_width: width of the beam search. Defaults to 5.
        **kwargs: `HierarchicalModel` arguments.

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> model = hk.models.CNNRNN.from_preset("small_fashion_mnist")
    >>> out = model.predict(np.zeros((2, 28, 28, 1)), verbose=0)
    >>> sorted(out), out["fine"].shape
    (['coarse', 'fine', 'medium'], (2, 10))
    >>> int(model.predict_label_paths(np.zeros((1, 28, 28, 1)), given=[[1, -1, -1]])[0, 0])
    1
    """

    presets = PRESETS
    family_key = "cnnrnn"

    def __init__(self, hierarchy, input_shape, backbone="small", backbone_kwargs=None,
                 embedding_dim=64, units=128, dropout=0.0, decoding="constrained",
                 beam_width=5, **kwargs):
        if decoding not in DECODINGS:
            raise ValueError(f"Unknown decoding {decoding!r}; choose one of {DECODINGS}.")
        if int(beam_width) < 1:
            raise ValueError(f"`beam_width` must be >= 1; received {beam_width}.")
        super().__init__(hierarchy, input_shape, **kwargs)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.dropout_rate = float(dropout)
        self.decoding = decoding
        self.beam_width = int(beam_width)
        tree = self.hierarchy
        # === Layers ===
        self.backbone = self.make_backbone(backbone, backbone_kwargs)
        self.feature_dropout = layers.Dropout(self.dropout_rate, name="feature_dropout",
                                              dtype="float32")
        # Token num_nodes is the start token.
        # The decoder runs in float32, also under a mixed-precision policy.
        self.label_embedding = layers.Embedding(tree.num_nodes + 1, self.embedding_dim,
                                                name="label_embedding", dtype="float32")
        self.cell = VisualLSTMCell(self.units, name="visual_lstm", dtype="float32")
        feature_dim = self.backbone.output["features"].shape[-1]
        self.cell.build((None, self.embedding_dim), visual_shape=(None, feature_dim))
        self.output_dropout = layers.Dropout(self.dropout_rate, name="output_dropout", dtype="float32")
        self.classifier = layers.Dense(tree.num_nodes, name="vocabulary_logits", dtype="float32")
        self.build_model()

    # === Decoder ===
    def _features(self, images, training):
        v = self.backbone(self.normalize(images), training=training)["features"]
        return self.feature_dropout(ops.cast(v, "float32"), training=training)

    def _step_fn(self, training=False):
        tree = self.hierarchy
        offsets = [int(o) for o in tree.node_offsets]

        def step(t, prev_nodes, state):
            h, c, vproj = state
            x = self.label_embedding(prev_nodes)
            h, c = self.cell.step(x, h, c, vproj)
            logits = self.classifier(self.output_dropout(h, training=training))
            return logits[:, offsets[t] : offsets[t] + tree.level_sizes[t]], (h, c, vproj)

        return step

    def _initial_state(self, v):
        zeros = ops.zeros((ops.shape(v)[0], self.units), dtype=v.dtype)
        return (zeros, zeros, self.cell.visual_projection(v))

    def decode(self, v, decoding=None, given=None, training=False):
        """Decode paths from image features: `(paths, [per-level probs])`."""
        decoding = decoding or self.decoding
        batch = ops.shape(v)[0]
        step = self._step_fn(training)
        state = self._initial_state(v)
        if decoding == "beam":
            paths, probs, _ = beam_search(step, state, self.hierarchy, batch,
                                          beam_width=self.beam_width, given=given)
        else:
            paths, probs = greedy_decode(step, state, self.hierarchy, batch,
                                         constrained=decoding == "constrained", given=given)
        return paths, probs

    def teacher_forced_logits(self, v, labels, training=True):
        """Step logits over the whole vocabulary with ground-truth inputs (eq. 8)."""
        tree = self.hierarchy
        h, c, vproj = self._initial_state(v)
        prev = ops.full((ops.shape(v)[0],), tree.num_nodes, dtype="int32")
        logits = []
        for t in range(tree.depth):
            x = self.label_embedding(prev)
            h, c = self.cell.step(x, h, c, vproj)
            logits.append(self.classifier(self.output_dropout(h, training=training)))
            y = labels[:, t]
            # Unknown labels are masked in the loss; feed the start token there.
            prev = ops.where(y >= 0, y + int(tree.node_offsets[t]), tree.num_nodes)
        return logits

    # === Model ===
    def call(self, images, training=False):
        v = self._features(images, training)
        decoding = "greedy" if training and self.decoding == "beam" else self.decoding
        _, probs = self.decode(v, decoding, training=training)
        outputs = dict(zip(self.hierarchy.level_names, probs))
        if training:
            outputs["_features"] = v
        return outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not training and x is not None and "_features" not in y_pred:
            # Evaluation: the features of the images again, for the teacher-forced loss.
            y_pred = dict(y_pred, _eval_features=self._features(x, False))
        return super().compute_loss(x, y, y_pred, sample_weight, training)

    def hierarchical_loss(self, y, y_pred):
        if "_features" in y_pred:
            logits = self.teacher_forced_logits(y_pred["_features"], y, training=True)
        elif "_eval_features" in y_pred:
            logits = self.teacher_forced_logits(y_pred["_eval_features"], y, training=False)
        else:  # no images given: cross-entropy of the decoded levels
            return super().hierarchical_loss(y, y_pred)
        offsets = ops.convert_to_tensor(self.hierarchy.node_offsets.astype("int32"))
        targets = ops.where(y >= 0, y + offsets, y)
        return HierarchicalCrossEntropy(level_weights=self.level_weights)(targets, logits)

    def predict_label_paths(self, images, batch_size=256, probs=None, given=None,
                            decoding=None):
        """Decoded paths `(N, depth)`; `given` labels (-1 unknown) force known levels (CNN-RNN*)."""
        images = self.check_images(images)
        if given is not None:
            given = self.check_given(given, len(images))
        decoding = decoding or self.decoding
        out = []
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size]
            g = None if given is None else given[start : start + batch_size]
            out.append(np.asarray(self.decode(self._features(x, False), decoding, given=g)[0]))
        return np.concatenate(out, axis=0).astype(np.int32)

    def get_config(self):
        config = super().get_config()
        config.update(
            embedding_dim=self.embedding_dim,
            units=self.units,
            dropout=self.dropout_rate,
            decoding=self.decoding,
            beam_width=self.beam_width,
        )
        return config
