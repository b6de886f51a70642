"""Decoding label paths step by step: greedy, tree-constrained greedy, beam search.

Sequence models (CNN-RNN, DHNN) emit one level per step: step `t` scores the
classes of level `t`. A decoder only needs a *step function*

    step_fn(t, prev_nodes, state) -> (logits over level-t classes, new_state)

where `prev_nodes` holds the global node id emitted at step `t - 1`
(`hierarchy.num_nodes`, the root / start token, at `t = 0`). The functions
here are written with `keras.ops` and a static loop over the depth, so they
run inside `call()`, `predict()` and exported SavedModels.

- `greedy_decode(..., constrained=False)`: Guo et al.'s inference: feed back
  the argmax. Step `t` picks among level-`t` classes (the paper's argmax over
  the joint C+F vocabulary can only be right when it picks a level-`t` class).
- `greedy_decode(..., constrained=True)`: a step may only emit a child of
  the previous label.
- `beam_search(...)`: the `beam_width` best tree paths by summed
  log-probability (Koo et al.'s FPL/S2S inference; width >= number of leaves
  is exhaustive). `end_token=True` adds Koo et al.'s S2S end token: a path
  may stop at any node (general trees); `renormalize=False` scores with the
  step function's own log-probabilities (the FPL model's softmax over all
  nodes) instead of renormalising over the allowed children.

All stop at a leaf: after a leaf the path has ended, the step emits -1 and
its probability row is all zeros. `given` labels (-1 where unknown) force
the known steps (Guo et al.'s CNN-RNN*: coarse labels given at test time).
"""

from __future__ import annotations

import numpy as np
from keras import ops

NEG = -1e9


def _allowed_tables(hierarchy):
    """Per level, bool `(num_nodes + 1, n_level)`: children allowed after each node."""
    mask = hierarchy.child_mask()
    offs = hierarchy.node_offsets
    return [mask[:, offs[t] : offs[t] + n] for t, n in enumerate(hierarchy.level_sizes)]


def _ended_table(hierarchy):
    """Bool `(num_nodes + 1,)`: the path has ended after this node (it is a leaf)."""
    return np.concatenate([hierarchy.node_is_leaf(), [False]])


def _force(allowed, given, t, n, end_token=False):
    if given is None:
        return allowed
    g = ops.cast(given[:, t], "int32")
    if end_token:  # -2 forces the end token (last column)
        g = ops.where(g == -2, n, g)
        n = n + 1
    onehot = ops.cast(ops.one_hot(ops.maximum(g, 0), n), "bool")
    return ops.where(ops.expand_dims(g >= 0, -1), onehot, allowed)


def _end_tables(hierarchy):
    """Per level, bool `(num_nodes + 2, n_level + 1)` for decoders with an end token.

    Rows: every node (its children, and the end token), the root (level-0
    classes, no end: a path has at least one node), the ended state
    (`num_nodes + 1`: nothing).
    """
    out = []
    for table in _allowed_tables(hierarchy):
        nodes = np.concatenate([table[:-1], np.ones((len(table) - 1, 1), bool)], axis=1)
        root = np.concatenate([table[-1:], np.zeros((1, 1), bool)], axis=1)
        ended = np.zeros((1, table.shape[1] + 1), bool)
        out.append(np.concatenate([nodes, root, ended], axis=0))
    return out


def greedy_decode(step_fn, state, hierarchy, batch_size, constrained=True, given=None):
    """Greedy decoding; returns `(paths (B, depth) int32, [probs per level])`.

    Args:
        step_fn: `(t, prev_nodes, state) -> (logits (B, n_t), state)`.
        state: initial decoder state (any nest of tensors with batch first).
        hierarchy: the `Hierarchy`.
        batch_size: B (a tensor or int).
        constrained: only children of the previous label may be emitted.
        given: optional int `(B, depth)` labels forcing the known steps.
    """
    allowed_tables = [ops.convert_to_tensor(a) for a in _allowed_tables(hierarchy)]
    ended_table = ops.convert_to_tensor(_ended_table(hierarchy))
    root = hierarchy.num_nodes
    prev = ops.full((batch_size,), root, dtype="int32")
    paths, probs = [], []
    for t, n in enumerate(hierarchy.level_sizes):
        logits, state = step_fn(t, prev, state)
        logits = ops.cast(logits, "float32")
        if constrained:
            allowed = ops.take(allowed_tables[t], prev, axis=0)
        else:
            alive = ops.logical_not(ops.take(ended_table, prev, axis=0))
            allowed = ops.logical_and(ops.expand_dims(alive, -1), ops.ones((1, n), "bool"))
        allowed = _force(allowed, given, t, n)
        any_allowed = ops.any(allowed, axis=-1)
        masked = ops.where(allowed, logits, NEG)
        p = ops.softmax(masked, axis=-1) * ops.cast(ops.expand_dims(any_allowed, -1), "float32")
        token = ops.where(any_allowed, ops.cast(ops.argmax(masked, axis=-1), "int32"), -1)
        prev = ops.where(token >= 0, token + int(hierarchy.node_offsets[t]), prev)
        paths.append(token)
        probs.append(p)
    return ops.stack(paths, axis=1), probs


def beam_search(step_fn, state, hierarchy, batch_size, beam_width=5, given=None,
                end_token=False, renormalize=True):
    """Tree-constrained beam search over label paths.

    Args:
        step_fn: `(t, prev_nodes, state) -> (logits (M, n_t), state)` with
            `M = batch * beam_width` rows (beam-major within each sample).
            With `end_token`, the logits have `n_t + 1` columns (the last
            is the end token) and `prev_nodes` may be `num_nodes + 1` (the
            path has ended).
        state: initial decoder state with batch first; it is repeated per beam.
        hierarchy: the `Hierarchy`.
        batch_size: B (int; beam search needs a static batch size for
            reshapes only through `ops.reshape(..., (-1, K, n))`).
        beam_width: K.
        given: optional `(B, depth)` labels forcing known steps (`-2`
            forces the end token when `end_token`).
        end_token: Koo et al.'s S2S end token: after any node the path may
            end (the end token competes with the children; at a leaf it is
            the only choice). An end emitted after an internal node is
            written `-2` in the path (the label contract), after a leaf `-1`.
        renormalize: `True`: a step's score is the log-softmax of its logits
            over the allowed choices (a distribution over tree paths).
            `False`: the logits are taken as log-probabilities already (e.g.
            the FPL model's log-softmax over all nodes) and only masked.

    Returns:
        `(paths (B, depth) int32, [probs per level along the best path],
        scores (B,) summed log-probabilities of the best path)`. A level's
        probabilities are the softmax over the allowed level classes (the
        end token left out); all zeros once the path has ended.
    """
    k = int(beam_width)
    if end_token:
        allowed_tables = [ops.convert_to_tensor(a) for a in _end_tables(hierarchy)]
        leaf_table = ops.convert_to_tensor(np.concatenate([hierarchy.node_is_leaf(), [False, True]]))
    else:
        allowed_tables = [ops.convert_to_tensor(a) for a in _allowed_tables(hierarchy)]
    root = hierarchy.num_nodes
    state = _map(lambda s: ops.repeat(s, k, axis=0), state)
    if given is not None:
        given = ops.repeat(ops.cast(given, "int32"), k, axis=0)
    scores = ops.concatenate(
        [ops.zeros((batch_size, 1)), ops.full((batch_size, k - 1), NEG)], axis=1)
    prev = ops.full((batch_size * k,), root, dtype="int32")
    history, step_probs = [], []
    batch_offsets = ops.expand_dims(ops.arange(batch_size, dtype="int32") * k, -1)
    for t, n in enumerate(hierarchy.level_sizes):
        logits, state = step_fn(t, prev, state)
        c = n + 1 if end_token else n  # columns: level classes (+ the end token)
        allowed = _force(ops.take(allowed_tables[t], prev, axis=0), given, t, n, end_token)
        finished = ops.logical_not(ops.any(allowed, axis=-1))
        masked = ops.where(allowed, ops.cast(logits, "float32"), NEG)
        logp = ops.log_softmax(masked, axis=-1) if renormalize else masked
        p = ops.softmax(masked[:, :n], axis=-1) * ops.cast(
            ops.expand_dims(ops.any(allowed[:, :n], axis=-1), -1), "float32")
        cand = ops.reshape(scores, (-1, k, 1)) + ops.reshape(logp, (-1, k, c))
        cand = ops.where(ops.reshape(allowed, (-1, k, c)), cand, 2 * NEG)
        stay = ops.where(ops.reshape(finished, (-1, k)), scores, 2 * NEG)
        flat = ops.concatenate([ops.reshape(cand, (-1, k * c)), stay], axis=1)
        scores, idx = ops.top_k(flat, k)
        idx = ops.cast(idx, "int32")
        expanded = idx < k * c
        src = ops.where(expanded, idx // c, idx - k * c)
        token = ops.where(expanded, idx % c, -1)
        flat_src = ops.reshape(batch_offsets + src, (-1,))
        prev = ops.take(prev, flat_src, axis=0)
        if end_token:
            ends = ops.reshape(token, (-1,)) == n
            prev_leaf = ops.take(leaf_table, prev, axis=0)
            marker = ops.where(prev_leaf, -1, -2)
            token = ops.where(ops.reshape(ends, (-1, k)), ops.reshape(marker, (-1, k)), token)
            prev = ops.where(ends, root + 1, prev)
        history = [ops.take_along_axis(h, src, axis=1) for h in history] + [token]
        p = ops.reshape(p, (-1, k, n))
        step_probs = [ops.take_along_axis(q, ops.expand_dims(src, -1), axis=1) for q in step_probs]
        chosen = ops.take_along_axis(p, ops.expand_dims(src, -1), axis=1)
        step_probs.append(chosen * ops.cast(ops.expand_dims(token >= 0, -1), "float32"))
        state = _map(lambda s: ops.take(s, flat_src, axis=0), state)
        tok = ops.reshape(token, (-1,))
        prev = ops.where(tok >= 0, tok + int(hierarchy.node_offsets[t]), prev)
    paths = ops.stack([h[:, 0] for h in history], axis=1)
    return paths, [q[:, 0] for q in step_probs], scores[:, 0]


def _map(fn, state):
    if isinstance(state, (list, tuple)):
        return type(state)(_map(fn, s) for s in state)
    if isinstance(state, dict):
        return {key: _map(fn, s) for key, s in state.items()}
    return fn(state)
