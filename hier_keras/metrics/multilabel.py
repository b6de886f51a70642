"""Metrics of multi-label path predictions (Koo et al. 2018, DHNN).

A multi-label model scores every node with a sigmoid, `{level_name: (N,
n_level)}`; a node is predicted when it and all its ancestors score at least
a threshold (`multilabel_on_nodes`), and the predicted paths are the on-nodes
without an on-child (`multilabel_path_sets`). `multilabel_f1` gives the
micro-averaged path and node F1 against label paths `(N, paths, depth)`
(rows all `-1` are padding) and `tune_threshold` picks the threshold on
validation data.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
>>> scores = {"coarse": np.array([[0.9, 0.8]]), "fine": np.array([[0.8, 0.1, 0.9]])}
>>> multilabel_f1([[[0, 0], [1, 2]]], scores, tree)["path_f1"]
1.0
"""

from __future__ import annotations

import numpy as np

from hier_keras.hierarchy import Hierarchy
from hier_keras.metrics.path_metrics import _prefix_len
from hier_keras.outputs import level_list


def _level_scores_list(scores, hierarchy):
    per_level = level_list(scores, hierarchy.level_names)
    missing = [n for i, n in enumerate(hierarchy.level_names) if i not in per_level]
    if missing:
        raise ValueError(f"Multi-label scores need every level; missing {missing}.")
    return [np.asarray(per_level[i], np.float64) for i in range(hierarchy.depth)]


def multilabel_on_nodes(scores, hierarchy, threshold):
    """Bool `(N, num_nodes)`: a node is on when it and all its ancestors score >= threshold.

    Koo et al. 2018, Sec. 4.2: "a path is selected if all logits of the nodes in
    the path are above the threshold".

    Args:
        scores: `{level_name: (N, n_level)}` sigmoid scores (or a list, coarsest first).
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        threshold: float.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> multilabel_on_nodes([np.array([[0.9, 0.2]]), np.array([[0.8, 0.1, 0.9]])], tree, 0.5)
    array([[ True, False,  True, False, False]])
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    levels = _level_scores_list(scores, hierarchy)
    parts = []
    for level, s in enumerate(levels):
        on = s >= threshold
        if level > 0:
            on &= parts[-1][:, hierarchy.parents[level]]
        parts.append(on)
    return np.concatenate(parts, axis=1)


def _true_sets(true_paths, hierarchy):
    """Per sample: (set of path-end node ids, set of node ids on its paths)."""
    y = np.asarray(true_paths)
    if y.ndim == 2:
        y = y[:, None, :]
    if y.ndim != 3 or y.shape[2] != hierarchy.depth:
        raise ValueError(f"Multi-label labels are int (N, paths, {hierarchy.depth}) label "
                         f"paths (padding rows all -1); received shape {y.shape}.")
    offs = hierarchy.node_offsets
    ends, nodes = [], []
    for rows in y:
        e, n = set(), set()
        for row in rows:
            k = int(_prefix_len(row[None])[0])
            if k == 0:
                continue
            ids = [int(offs[l] + row[l]) for l in range(k)]
            n.update(ids)
            e.add(ids[-1])
        ends.append(e)
        nodes.append(n)
    return ends, nodes


def _pred_sets(on, hierarchy):
    parents = hierarchy.node_parents()
    ends, nodes = [], []
    for row in on:
        ids = set(np.flatnonzero(row).tolist())
        has_child = {int(parents[i]) for i in ids if parents[i] >= 0}
        nodes.append(ids)
        ends.append(ids - has_child)
    return ends, nodes


def _micro_f1(true_sets, pred_sets):
    tp = sum(len(t & p) for t, p in zip(true_sets, pred_sets))
    n_p = sum(len(p) for p in pred_sets)
    n_t = sum(len(t) for t in true_sets)
    prec = tp / n_p if n_p else 0.0
    rec = tp / n_t if n_t else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0)


def multilabel_f1(true_paths, scores, hierarchy, threshold=0.5):
    """Path F1 and node F1 of multi-label path predictions (Koo et al. 2018, Table 3).

    Predicted nodes: `multilabel_on_nodes` (score and all ancestors' scores
    >= threshold); predicted paths: on-nodes without an on-child (a path is
    on when all its nodes are). True paths: the label rows; true nodes: all
    nodes on them. Precision, recall and F1 are micro-averaged over samples.

    Args:
        true_paths: int `(N, paths, depth)` (rows all -1 are padding) or
            `(N, depth)` for one path per sample.
        scores: `{level_name: (N, n_level)}` sigmoid scores.
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        threshold: float.

    Returns:
        dict `{path_precision, path_recall, path_f1, node_precision,
        node_recall, node_f1}` (fractions).

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> y = [[[0, 0], [1, 2]]]                       # paths A/a1 and B/b1
    >>> s = [np.array([[0.9, 0.2]]), np.array([[0.8, 0.1, 0.9]])]
    >>> r = multilabel_f1(y, s, tree)
    >>> round(r["path_f1"], 4), round(r["node_f1"], 4)
    (0.6667, 0.6667)
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    on = multilabel_on_nodes(scores, hierarchy, threshold)
    t_ends, t_nodes = _true_sets(true_paths, hierarchy)
    p_ends, p_nodes = _pred_sets(on, hierarchy)
    out = {}
    for kind, t, p in (("path", t_ends, p_ends), ("node", t_nodes, p_nodes)):
        out[f"{kind}_precision"], out[f"{kind}_recall"], out[f"{kind}_f1"] = _micro_f1(t, p)
    return out


def tune_threshold(true_paths, scores, hierarchy, thresholds=None, metric="path_f1"):
    """The threshold with the best `metric` (Koo et al.: chosen on validation data).

    Args:
        thresholds: candidates. Defaults to 0.05, 0.10, ..., 0.95.
        metric: a key of `multilabel_f1` (`"path_f1"` or `"node_f1"`).

    Returns:
        `(threshold, multilabel_f1 dict at that threshold)`; ties go to the
        threshold closest to 0.5.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> s = [np.array([[0.9, 0.3]]), np.array([[0.8, 0.1, 0.3]])]
    >>> tune_threshold([[[0, 0], [1, 2]]], s, tree)[0]
    0.3
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2)
    best = None
    for thr in thresholds:
        res = multilabel_f1(true_paths, scores, hierarchy, float(thr))
        key = (round(res[metric], 12), -abs(float(thr) - 0.5))
        if best is None or key > best[0]:
            best = (key, float(thr), res)
    return best[1], best[2]


def multilabel_path_sets(scores, hierarchy, threshold=0.5):
    """Per sample, the int `(k, depth)` predicted paths (`-1` padded) of multi-label scores.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> s = [np.array([[0.9, 0.8]]), np.array([[0.8, 0.1, 0.9]])]
    >>> multilabel_path_sets(s, tree)[0].tolist()
    [[0, 0], [1, 2]]
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    on = multilabel_on_nodes(scores, hierarchy, threshold)
    ends, _ = _pred_sets(on, hierarchy)
    node_paths = hierarchy.node_paths()
    return [node_paths[sorted(e)].reshape(-1, hierarchy.depth) for e in ends]
