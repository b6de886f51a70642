"""`DHNN`: Koo et al.'s deep hierarchical neural networks (CNN-RNN and CNN-S2S).

Koo, Klabjan, Utke (2018), "Combined Convolutional and Recurrent Neural
Networks for Hierarchical Classification of Images", Sec. 3, Appendices A/B,
Tables 1-3.

Features are tapped at several backbone stages. RNN step `t` reads

    u_t = 1/|S_t| sum_{s in S_t} g(a_s; alpha_s)        (Sec. 3.1)

with increasing layer subsets `S_t` (every stage of `S_t` comes before every
stage of `S_{t+1}`: shallow stages feed the coarse steps) and a converter `g`
to `R^p` (`hier_keras.layers.converters`: "linear" mode product, "conv",
"pool"). A bidirectional LSTM (orthogonal kernels, `rnn_layers` layers, each
direction `units // 2` wide) encodes `u_1 .. u_T`.

- `decoder="rnn"` (FPL model, fixed path length): `o_t = r_o(h_t) in R^N`
  over all N non-root nodes; loss `sum_t w_t CE(y_t, softmax(o_t))`.
  Residual arcs (`residual=True`): the paper writes `o_t^res = u_t + z(o_t)`,
  but `u_t in R^p` and `o_t in R^N` only add up as
  `o_t^res = o_t + z(u_t)` with `z: R^p -> R^N` linear, which is what is
  implemented. Inference: beam search over tree paths scored by
  `sum_t log softmax(o_t)[y_t]` (the trained distribution over all N nodes,
  restricted to tree paths; `hier_keras.layers.tree_decoding.beam_search`
  with `renormalize=False`).
- `decoder="s2s"` (general tree): an LSTM decoder of size `units` starts from
  the encoder's last state `h_T` (both directions' final states,
  concatenated) and reads at step `t` the embedding of the node emitted at
  step `t - 1` (teacher forcing in training; the paper's "o-bar_t" input).
  Its output covers the N nodes plus an end token, so paths have any length
  and may end at internal nodes: the label contract marks such an end with
  `-2` (which trains the end token); `-1` means "unknown" and trains
  nothing. Inference: tree-constrained beam search with the end token
  (`end_token=True`); at a leaf the end is the only choice.

Per-level probabilities (the output contract): level `t`'s row is the
softmax of step `t` over the level-`t` children of the node decoded before
it (along the best beam), all zeros once the path has ended.

Multi-label mode (`multi_label=True`, Sec. 4.2): labels are int
`(batch, paths, depth)` (padding rows all `-1`); outputs are sigmoids (step
`t`'s level-`t` slice); the loss is `sum_t w_t` binary cross-entropy of the
level-`t` nodes. A node is on when its score and all its ancestors' pass
`threshold`; a path is on when all its nodes are (`predict_path_sets`).
`tune_threshold` picks the threshold with the best F1 on validation data;
`hier_keras.metrics.multilabel_f1` gives path F1 and node F1. In S2S mode the
decoder reads the previous level's multi-hot labels in training and its own
previous scores at inference (our choice; the paper does not say).

`AlternatingTraining` (`hier_keras.training`) freezes `layer_groups()["cnn"]`
(the backbone) or `["rnn"]` (converters, encoder, decoder, heads) in turn.
"""

from __future__ import annotations

import numpy as np
from keras import layers, ops

from hier_keras.layers.converters import CONVERTERS, make_converter
from hier_keras.layers.tree_decoding import beam_search
from hier_keras.losses import HierarchicalCrossEntropy
from hier_keras.models.base import HierarchicalModel
from hier_keras.models.dhnn.dhnn_presets import PRESETS
from hier_keras.models.registry import register_family

DECODERS = ("rnn", "s2s")


def default_taps(stage_names, steps):
    """Split the backbone stages into `steps` contiguous increasing subsets S_1..S_T.

    Earlier subsets get the extra stages when the split is uneven.

    Example:

    >>> default_taps(["stage_1", "stage_2", "stage_3", "stage_4", "stage_5"], 2)
    [['stage_1', 'stage_2', 'stage_3'], ['stage_4', 'stage_5']]
    """
    n = len(stage_names)
    if steps > n:
        raise ValueError(
            f"DHNN needs {steps} increasing, disjoint stage subsets S_t but the backbone has "
            f"only {n} stages ({stage_names}). Use a backbone with more stages, a shallower "
            "tree, or decoder='s2s' with fewer encoder steps (`taps`).")
    sizes = [n // steps + (1 if i < n % steps else 0) for i in range(steps)]
    out, start = [], 0
    for size in sizes:
        out.append(list(stage_names[start:start + size]))
        start += size
    return out


def _check_taps(taps, stage_names):
    order = {name: i for i, name in enumerate(stage_names)}
    norm = []
    for t, subset in enumerate(taps):
        subset = [subset] if isinstance(subset, (str, int)) else list(subset)
        if not subset:
            raise ValueError(f"`taps[{t}]` is empty; every step S_t needs at least one stage.")
        names = []
        for s in subset:
            name = f"stage_{s}" if isinstance(s, int) else str(s)
            if name not in order:
                raise ValueError(f"`taps[{t}]` names {s!r}, not a stage of the backbone; "
                                 f"use one of {stage_names} (or their 1-based numbers).")
            names.append(name)
        norm.append(sorted(names, key=order.get))
    for t in range(len(norm) - 1):
        if order[norm[t][-1]] >= order[norm[t + 1][0]]:
            raise ValueError(
                f"`taps` must be increasing (Koo et al. Sec. 3.1: every stage of S_t before "
                f"every stage of S_(t+1)); S_{t + 1}={norm[t]} and S_{t + 2}={norm[t + 1]} "
                "overlap or are out of order.")
    return norm


@register_family
class DHNN(HierarchicalModel):
    """Deep hierarchical neural network: CNN taps + converters + (Bi)LSTM path decoder.

    Koo, Klabjan, Utke (2018), Sec. 3 (see the module docstring for the
    equations and the choices made where the paper is ambiguous).

    Args:
        hierarchy: `Hierarchy` (or its dict).
        input_shape: `(height, width, channels)`.
        backbone: a registered backbone name (`hk.backbones.list_backbones()`).
        backbone_kwargs: dict forwarded to the backbone builder.
        decoder: `"rnn"` (FPL model) or `"s2s"` (general tree, end token).
            Defaults to `"rnn"`.
        taps: list of stage subsets S_t, one per encoder step, increasing;
            stages by name (`"stage_2"`) or 1-based number. `"rnn"` needs one
            subset per tree level. Defaults to splitting all stages into
            `depth` contiguous groups (`default_taps`).
        converter: `"linear"` (mode product), `"conv"` or `"pool"`.
            Defaults to `"pool"` (the paper's recommendation).
        converter_kwargs: dict forwarded to every converter.
        input_dim: p, the RNN input size. Defaults to 128.
        units: hidden size: each encoder direction has `units // 2`, the S2S
            decoder `units`. Defaults to 128.
        rnn_layers: number of stacked bidirectional LSTM layers. Defaults to 1.
        residual: residual arcs `o_t + z(u_t)` (`"rnn"` only). Defaults to False.
        embedding_dim: size of the S2S decoder's node embedding. Defaults to
            `input_dim`.
        dropout: dropout on `u_t` and on the RNN outputs. Defaults to 0.
        beam_width: beam width at inference. Defaults to 5.
        multi_label: sigmoid outputs and multi-path labels. Defaults to False.
        threshold: multi-label score threshold (`tune_threshold` sets it).
            Defaults to 0.5.
        **kwargs: `HierarchicalModel` arguments (`mean`, `std`,
            `level_weights` (the paper's w_t), `training_config`, `name`).

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> model = hk.models.DHNN.from_preset("small_s2s_fashion_mnist")
    >>> out = model.predict(np.zeros((2, 28, 28, 1)), verbose=0)
    >>> sorted(out), out["fine"].shape
    (['coarse', 'fine', 'medium'], (2, 10))
    >>> model.predict_label_paths(np.zeros((2, 28, 28, 1))).shape
    (2, 3)
    """

    presets = PRESETS
    family_key = "dhnn"
    tiny_overrides = {"backbone": "small", "backbone_kwargs": {"widths": [4, 8, 8]},
                      "input_dim": 8, "units": 8, "rnn_layers": 1, "embedding_dim": 8}

    def __init__(self, hierarchy, input_shape, backbone="small", backbone_kwargs=None,
                 decoder="rnn", taps=None, converter="pool", converter_kwargs=None,
                 input_dim=128, units=128, rnn_layers=1, residual=False, embedding_dim=None,
                 dropout=0.0, beam_width=5, multi_label=False, threshold=0.5, **kwargs):
        if decoder not in DECODERS:
            raise ValueError(f"Unknown decoder {decoder!r}; choose one of {DECODERS}.")
        if converter not in CONVERTERS:
            raise ValueError(f"Unknown converter {converter!r}; choose one of {CONVERTERS}.")
        if residual and decoder != "rnn":
            raise ValueError("Residual arcs o_t + z(u_t) belong to the FPL model "
                             "(decoder='rnn'); set residual=False for decoder='s2s'.")
        if int(units) < 2 or int(units) % 2:
            raise ValueError(f"`units` must be an even number >= 2 (two LSTM directions of "
                             f"units // 2); received {units}.")
        if int(beam_width) < 1:
            raise ValueError(f"`beam_width` must be >= 1; received {beam_width}.")
        if int(rnn_layers) < 1:
            raise ValueError(f"`rnn_layers` must be >= 1; received {rnn_layers}.")
        super().__init__(hierarchy, input_shape, **kwargs)
        tree = self.hierarchy
        self.decoder = decoder
        self.converter = converter
        self.converter_kwargs = dict(converter_kwargs or {})
        self.input_dim = int(input_dim)
        self.units = int(units)
        self.rnn_layers = int(rnn_layers)
        self.residual = bool(residual)
        self.embedding_dim = int(embedding_dim or input_dim)
        self.dropout_rate = float(dropout)
        self.beam_width = int(beam_width)
        self.multi_label = bool(multi_label)
        self.threshold = float(threshold)
        if self.multi_label:
            self.hk_metrics = []  # single-path metrics do not apply; see `multilabel_f1`

        # === Layers ===
        self.backbone = self.make_backbone(backbone, backbone_kwargs)
        stage_names = [k for k in self.backbone.output if k.startswith("stage_")]
        if taps is None:
            steps = tree.depth if decoder == "rnn" else min(tree.depth, len(stage_names))
            taps = default_taps(stage_names, steps)
        self.taps = _check_taps(taps, stage_names)
        if decoder == "rnn" and len(self.taps) != tree.depth:
            raise ValueError(
                f"decoder='rnn' (fixed path length) has one step per tree level: `taps` needs "
                f"{tree.depth} subsets, received {len(self.taps)}. Use decoder='s2s' for an "
                "encoder of another length.")
        self.converters = {}
        for subset in self.taps:
            for stage in subset:
                shape = self.backbone.output[stage].shape
                conv = make_converter(converter, self.input_dim, shape,
                                      name=f"converter_{stage}", **self.converter_kwargs)
                conv.build(shape)
                self.converters[stage] = conv
        self._converter_list = list(self.converters.values())  # tracked by Keras
        self.u_dropout = layers.Dropout(self.dropout_rate, name="u_dropout")
        self.encoder = []
        for i in range(self.rnn_layers):
            lstm = layers.LSTM(self.units // 2, return_sequences=True,
                               return_state=i == self.rnn_layers - 1,
                               kernel_initializer="orthogonal",
                               recurrent_initializer="orthogonal", name=f"encoder_lstm_{i + 1}")
            self.encoder.append(layers.Bidirectional(lstm, name=f"encoder_{i + 1}"))
        self.out_dropout = layers.Dropout(self.dropout_rate, name="out_dropout")
        n = tree.num_nodes
        if decoder == "rnn":
            self.output_layer = layers.Dense(n, name="node_logits")
            self.residual_layer = (layers.Dense(n, use_bias=False, name="residual_z")
                                   if self.residual else None)
        else:
            # Tokens: nodes 0..N-1, N = root / start, N + 1 = ended.
            self.node_embedding = layers.Embedding(n + 2, self.embedding_dim, name="node_embedding")
            self.node_embedding.build((None,))
            self.decoder_cell = layers.LSTMCell(self.units, kernel_initializer="orthogonal",
                                                recurrent_initializer="orthogonal",
                                                name="decoder_lstm")
            self.output_layer = layers.Dense(n + 1, name="node_end_logits")
        self.build_model()

    # === Groups for alternating training ===
    def layer_groups(self) -> dict:
        """`{"cnn": [backbone], "rnn": [converters, encoder, decoder and output layers]}`."""
        rnn = list(self._converter_list) + list(self.encoder) + [self.output_layer]
        if self.decoder == "rnn":
            rnn += [self.residual_layer] if self.residual_layer is not None else []
        else:
            rnn += [self.node_embedding, self.decoder_cell]
        return {"cnn": [self.backbone], "rnn": rnn}

    # === Encoder ===
    def encode(self, images, training=False):
        """Raw images -> `(u (B, T, p), encoder sequence (B, T, units), (h_T, c_T))`."""
        feats = self.backbone(self.normalize(images), training=training)
        steps = []
        for subset in self.taps:
            conv = [ops.cast(self.converters[s](feats[s]), "float32") for s in subset]
            steps.append(conv[0] if len(conv) == 1 else ops.mean(ops.stack(conv, 0), axis=0))
        u = self.u_dropout(ops.stack(steps, axis=1), training=training)
        x = u
        for i, layer in enumerate(self.encoder):
            if i == len(self.encoder) - 1:
                x, fh, fc, bh, bc = layer(x, training=training)
            else:
                x = layer(x, training=training)
        state = (ops.concatenate([fh, bh], axis=-1), ops.concatenate([fc, bc], axis=-1))
        return u, x, state

    def fpl_logits(self, u, seq, training=False):
        """FPL outputs `o_t` (+ `z(u_t)` with residual arcs): `(B, T, N)` logits."""
        o = self.output_layer(self.out_dropout(seq, training=training))
        if self.residual_layer is not None:
            o = o + self.residual_layer(u)
        return o

    # === S2S decoder ===
    def _s2s_logits(self, token_input, state, training=False):
        h, c = state
        out, (h, c) = self.decoder_cell(token_input, [h, c], training=training)
        return self.output_layer(self.out_dropout(out, training=training)), (h, c)

    def _level_columns(self, logits, t, end=True):
        tree = self.hierarchy
        off, n = int(tree.node_offsets[t]), tree.level_sizes[t]
        cols = logits[:, off:off + n]
        if end:
            cols = ops.concatenate([cols, logits[:, tree.num_nodes:tree.num_nodes + 1]], axis=-1)
        return cols

    def teacher_forced_logits(self, state, labels, training=True):
        """S2S step logits over N nodes + end, fed the ground-truth previous nodes."""
        tree = self.hierarchy
        prev = ops.full((ops.shape(labels)[0],), tree.num_nodes, dtype="int32")
        out = []
        for t in range(tree.depth):
            logits, state = self._s2s_logits(self.node_embedding(prev), state, training)
            out.append(logits)
            y = labels[:, t]
            prev = ops.where(y >= 0, y + int(tree.node_offsets[t]), tree.num_nodes)
        return out

    def decode(self, images, beam_width=None, given=None, training=False):
        """Raw images -> `(paths (B, depth), [per-level probs], encoder outputs)`."""
        k = self.beam_width if beam_width is None else int(beam_width)
        u, seq, state = self.encode(images, training)
        batch = ops.shape(u)[0]
        if self.decoder == "rnn":
            logits = self.fpl_logits(u, seq, training)
            logp = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
            tree = self.hierarchy

            def step(t, prev, st):
                (lp,) = st
                off = int(tree.node_offsets[t])
                return lp[:, t, off:off + tree.level_sizes[t]], st

            paths, probs, _ = beam_search(step, (logp,), self.hierarchy, batch, beam_width=k,
                                          given=given, renormalize=False)
            return paths, probs, {"logits": logits, "u": u}

        def step(t, prev, st):
            logits, st = self._s2s_logits(self.node_embedding(prev), st, training)
            return self._level_columns(logits, t), st

        paths, probs, _ = beam_search(step, state, self.hierarchy, batch, beam_width=k,
                                      given=given, end_token=True)
        return paths, probs, {"state": state}

    # === Multi-label ===
    def multilabel_scores(self, images, training=False, labels=None):
        """Per-level logits `[(B, n_t)]` in multi-label mode (teacher forced when `labels`)."""
        u, seq, state = self.encode(images, training)
        return self._multilabel_levels(u, seq, state, training, labels)

    def _multilabel_levels(self, u, seq, state, training=False, labels=None):
        tree = self.hierarchy
        if self.decoder == "rnn":
            logits = self.fpl_logits(u, seq, training)
            return [self._level_columns(logits[:, t], t, end=False) for t in range(tree.depth)]
        n = tree.num_nodes
        batch = ops.shape(u)[0]
        table = self.node_embedding.embeddings
        prev = ops.one_hot(ops.full((batch,), n, dtype="int32"), n + 2)
        out = []
        for t in range(tree.depth):
            logits, state = self._s2s_logits(ops.matmul(prev, table), state, training)
            level = self._level_columns(logits, t, end=False)
            out.append(level)
            off, size = int(tree.node_offsets[t]), tree.level_sizes[t]
            scores = (_multi_hot(labels, t, size) if labels is not None
                      else ops.sigmoid(level))
            prev = ops.pad(scores, [[0, 0], [off, n + 2 - off - size]])
        return out

    # === Model ===
    def call(self, images, training=False):
        names = self.hierarchy.level_names
        if self.multi_label:
            u, seq, state = self.encode(images, training)
            levels = self._multilabel_levels(u, seq, state, training)
            outputs = {name: ops.sigmoid(ops.cast(v, "float32")) for name, v in zip(names, levels)}
            if training:
                outputs.update(_u=u, _seq=seq, _state=state, _levels=levels)
            return outputs
        # Training decodes greedily (beam 1) for the streaming metrics only.
        _, probs, extra = self.decode(images, beam_width=1 if training else None,
                                      training=training)
        outputs = dict(zip(names, probs))
        if training:
            outputs.update({f"_{k}": v for k, v in extra.items()})
        return outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if (not training and not self.multi_label and x is not None
                and not {"_logits", "_state"} & set(y_pred)):
            # Evaluation: the training loss on these images (dropout off), not the
            # cross-entropy of beam-decoded levels, where a wrong parent gives probability 0.
            u, seq, state = self.encode(x, False)
            extra = ({"_logits": self.fpl_logits(u, seq, False)} if self.decoder == "rnn"
                     else {"_eval_state": state})
            y_pred = dict(y_pred, **extra)
        if self.multi_label:
            loss = self.multilabel_loss(y, y_pred)
        else:
            loss = self.hierarchical_loss(ops.cast(y, "int32"), y_pred)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def hierarchical_loss(self, y, y_pred):
        """`sum_t w_t CE(y_t, softmax(o_t))` over all N nodes (+ the end token for S2S)."""
        tree = self.hierarchy
        offsets = ops.convert_to_tensor(tree.node_offsets.astype("int32"))
        ce = HierarchicalCrossEntropy(level_weights=self.level_weights)
        if "_logits" in y_pred:  # FPL
            targets = ops.where(y >= 0, y + offsets, -1)
            logits = y_pred["_logits"]
            return ce(targets, [logits[:, t] for t in range(tree.depth)])
        if "_state" in y_pred or "_eval_state" in y_pred:  # S2S, teacher forcing
            training = "_state" in y_pred  # else evaluation: no dropout
            state = y_pred["_state"] if training else y_pred["_eval_state"]
            targets = ops.where(y >= 0, y + offsets, ops.where(y == -2, tree.num_nodes, -1))
            return ce(targets, self.teacher_forced_logits(state, y, training=training))
        return super().hierarchical_loss(y, y_pred)  # no images given: decoded levels

    def multilabel_loss(self, labels, y_pred):
        """`sum_t w_t` mean binary cross-entropy of the level-t nodes (multi-label mode)."""
        labels = ops.cast(labels, "int32")
        if len(labels.shape) != 3:
            raise ValueError(
                "Multi-label DHNN labels are int (batch, paths, depth) label paths (padding "
                f"rows all -1); received shape {tuple(labels.shape)}.")
        if "_u" in y_pred:
            levels = (y_pred["_levels"] if self.decoder == "rnn" else self._multilabel_levels(
                y_pred["_u"], y_pred["_seq"], y_pred["_state"], True, labels=labels))
        else:  # evaluation: the sigmoid scores
            levels = [ops.log(ops.clip(y_pred[n], 1e-7, 1 - 1e-7))
                      - ops.log(ops.clip(1 - y_pred[n], 1e-7, 1 - 1e-7))
                      for n in self.hierarchy.level_names]
        weights = self.level_weights or [1.0] * self.hierarchy.depth
        total = ops.zeros((), "float32")
        for t, logits in enumerate(levels):
            target = _multi_hot(labels, t, self.hierarchy.level_sizes[t])
            bce = ops.binary_crossentropy(target, ops.cast(logits, "float32"), from_logits=True)
            total = total + float(weights[t]) * ops.mean(bce)
        return total

    def predict_label_paths(self, images, batch_size=256, probs=None, given=None,
                            beam_width=None):
        """Beam-searched paths `(N, depth)` (`-2` where an S2S path ends at an internal node).

        `given` labels (-1 unknown) force the known levels.
        """
        if self.multi_label:
            raise ValueError("A multi-label DHNN predicts sets of paths: use "
                             "`predict_path_sets(images)`.")
        images = self.check_images(images)
        if given is not None:
            given = self.check_given(given, len(images))
        out = []
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            g = None if given is None else given[start:start + batch_size]
            out.append(np.asarray(self.decode(x, beam_width=beam_width, given=g)[0]))
        return np.concatenate(out, axis=0).astype(np.int32)

    def predict_path_sets(self, images, threshold=None, batch_size=256, scores=None):
        """Multi-label: per image, the int `(k, depth)` paths whose nodes all pass `threshold`.

        A node is on when its score and its ancestors' pass the threshold; the
        paths returned end at on-nodes with no on-child (`-1` padded).
        """
        from hier_keras.metrics import multilabel_path_sets

        if scores is None:
            scores = self.predict(images, batch_size=batch_size, verbose=0)
        thr = self.threshold if threshold is None else float(threshold)
        return multilabel_path_sets(scores, self.hierarchy, thr)

    def tune_threshold(self, images, labels, thresholds=None, metric="path_f1",
                       batch_size=256):
        """Set `threshold` to the value with the best F1 on validation data; returns it."""
        from hier_keras.metrics import tune_threshold

        scores = self.predict(images, batch_size=batch_size, verbose=0)
        self.threshold, _ = tune_threshold(labels, scores, self.hierarchy,
                                           thresholds=thresholds, metric=metric)
        return self.threshold

    def get_config(self):
        config = super().get_config()
        config.update(
            decoder=self.decoder, taps=[list(s) for s in self.taps], converter=self.converter,
            converter_kwargs=self.converter_kwargs, input_dim=self.input_dim, units=self.units,
            rnn_layers=self.rnn_layers, residual=self.residual,
            embedding_dim=self.embedding_dim, dropout=self.dropout_rate,
            beam_width=self.beam_width, multi_label=self.multi_label, threshold=self.threshold,
        )
        return config


def _multi_hot(labels, t, size):
    """`(B, size)` float: the level-`t` classes on any of a sample's label paths."""
    y = labels[:, :, t]
    hot = ops.one_hot(ops.maximum(y, 0), size) * ops.cast(ops.expand_dims(y >= 0, -1), "float32")
    return ops.max(hot, axis=1)

