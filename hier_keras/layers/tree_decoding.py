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
  is exhaustive).

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


def _force(allowed, given, t, n):
    if given is None:
        return allowed
    g = ops.cast(given[:, t], "int32")
    onehot = ops.cast(ops.one_hot(ops.maximum(g, 0), n), "bool")
    return ops.where(ops.expand_dims(g >= 0, -1), onehot, allowed)


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


def beam_search(step_fn, state, hierarchy, batch_size, beam_width=5, given=None):
    """Tree-constrained beam search over label paths.

    Args:
        step_fn: `(t, prev_nodes, state) -> (logits (M, n_t), state)` with
            `M = batch * beam_width` rows (beam-major within each sample).
        state: initial decoder state with batch first; it is repeated per beam.
        hierarchy: the `Hierarchy`.
        batch_size: B (int; beam search needs a static batch size for
            reshapes only through `ops.reshape(..., (-1, K, n))`).
        beam_width: K.
        given: optional `(B, depth)` labels forcing known steps.

    Returns:
        `(paths (B, depth) int32, [probs per level along the best path],
        scores (B,) summed log-probabilities of the best path)`.
    """
    k = int(beam_width)
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
        allowed = _force(ops.take(allowed_tables[t], prev, axis=0), given, t, n)
        finished = ops.logical_not(ops.any(allowed, axis=-1))
        masked = ops.where(allowed, ops.cast(logits, "float32"), NEG)
        logp = ops.log_softmax(masked, axis=-1)
        p = ops.softmax(masked, axis=-1) * ops.cast(
            ops.expand_dims(ops.logical_not(finished), -1), "float32")
        cand = ops.reshape(scores, (-1, k, 1)) + ops.reshape(logp, (-1, k, n))
        cand = ops.where(ops.reshape(allowed, (-1, k, n)), cand, 2 * NEG)
        stay = ops.where(ops.reshape(finished, (-1, k)), scores, 2 * NEG)
        flat = ops.concatenate([ops.reshape(cand, (-1, k * n)), stay], axis=1)
        scores, idx = ops.top_k(flat, k)
        idx = ops.cast(idx, "int32")
        expanded = idx < k * n
        src = ops.where(expanded, idx // n, idx - k * n)
        token = ops.where(expanded, idx % n, -1)
        history = [ops.take_along_axis(h, src, axis=1) for h in history] + [token]
        p = ops.reshape(p, (-1, k, n))
        step_probs = [ops.take_along_axis(q, ops.expand_dims(src, -1), axis=1) for q in step_probs]
        step_probs.append(ops.take_along_axis(p, ops.expand_dims(src, -1), axis=1))
        flat_src = ops.reshape(batch_offsets + src, (-1,))
        state = _map(lambda s: ops.take(s, flat_src, axis=0), state)
        prev = ops.take(prev, flat_src, axis=0)
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
