"""`ClassifierAdaptation`: test-time coarse/fine probability adjustment (Dutt et al. 2017).

Dutt, Pellerin, Quenot (2017), "Improving Hierarchical Image Classification with
Merged CNN Architectures", Sec. 3.2, Algorithm 1. For one pair of adjacent
levels (coarse probabilities `P_c`, fine `P_f`, `s(j)` the parent of fine
class `j`):

    Q[i]      = sum_{s(j)=i} P_f[j]
    target[i] = (P_c[i] + Q[i]) / 2
    adj_c[i]  = (1 - a) P_c[i] + a target[i]
    adj_f[j]  = (1 - a) P_f[j] + a P_f[j] target[s(j)] / Q[s(j)]   if Q[s(j)] != 0
    adj_f[j]  = adj_c[s(j)] / |children(s(j))|                      if Q[s(j)] == 0

`a = 0` leaves the probabilities unchanged, `a = 1` projects every
`(P_c[i], Q[i])` on the diagonal (the two levels agree exactly), `a = 2`
makes the coarse probabilities the sums of their children's.

Implementation notes (the choices PAPERS.md asks to document):

- **Vectorised** with the `(F, C)` membership matrix `M` (`M[j, i] = 1` iff
  `i = s(j)`): `Q = P_f M`, and a coarse quantity is handed to every child by
  `(.) M^T` (an exact gather: each row of `M` holds one 1). No Python loop
  over classes; the cost is a few `(B, F) x (F, C)` products.
- **The Q = 0 branch is as written** in Algorithm 1: every child of a coarse
  class whose children all have probability exactly 0 gets
  `adj_c[i] / |children(i)|`. Two consequences follow from the text and are
  kept: (1) at `a = 0` such children get `P_c[i] / n` instead of 0, so
  `a = 0` is the identity only where every `Q[i] > 0`; (2) the fine level
  then sums to `1 + (1 - a) S0` (S0: coarse mass of the Q = 0 classes), which
  is 1 at `a = 1` or when no Q is 0. The coarse level always sums to 1.
  Softmax outputs reach an exact 0 only by float underflow, so this is rare.
- **Deeper trees**: Algorithm 1 is applied to each pair of adjacent levels
  in turn. `order="coarse_to_fine"` (default) adapts levels (0, 1), then
  (1, 2), ...: each level is adjusted against its already adapted parent
  level, so the finest level takes in every coarser one. `"fine_to_coarse"`
  adapts (T-2, T-1) first, then up to (0, 1): the evidence of the finest
  level flows up to the root. With one level pair (the paper's setting) both
  orders are Algorithm 1.
- **alpha** is a non-trainable variable of shape `(depth,)`, one value per
  output level: level `l`'s output is the chain run with `alpha[l]` (a
  scalar gives every level the same alpha and outputs that agree at
  `a = 1`). Set it after training with `set_alpha`; `get_config` reports
  the current value.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> from hier_keras.layers.classifier_adaptation import ClassifierAdaptation
>>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
>>> layer = ClassifierAdaptation(tree, alpha=1.0)
>>> out = layer({"coarse": np.array([[0.9, 0.1]]), "fine": np.array([[0.2, 0.2, 0.6]])})
>>> np.asarray(out["coarse"], float).round(3).tolist(), np.asarray(out["fine"], float).round(3).tolist()
([[0.65, 0.35]], [[0.325, 0.325, 0.35]])
>>> layer.set_alpha(0.0)
>>> np.asarray(layer({"coarse": np.array([[0.9, 0.1]]),
...                   "fine": np.array([[0.2, 0.2, 0.6]])})["coarse"], float).round(3).tolist()
[[0.9, 0.1]]
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from hier_keras.hierarchy import Hierarchy

ORDERS = ("coarse_to_fine", "fine_to_coarse")


def adapt_pair(p_coarse, p_fine, membership, alpha):
    """Algorithm 1 of Dutt et al. 2017 for one pair of levels (keras.ops, vectorised).

    Args:
        p_coarse: `(B, C)` probabilities of the coarser level.
        p_fine: `(B, F)` probabilities of the finer level.
        membership: `(F, C)` 0/1 matrix, `M[j, i] = 1` iff `i` is `j`'s parent.
        alpha: scalar interpolation factor (float or 0-d tensor).

    Returns:
        `(adjusted_coarse, adjusted_fine)`.
    """
    p_coarse = ops.cast(p_coarse, "float32")
    p_fine = ops.cast(p_fine, "float32")
    m = ops.convert_to_tensor(membership, "float32")
    m_t = ops.transpose(m)
    alpha = ops.cast(alpha, "float32")
    q = ops.matmul(p_fine, m)                                   # Q_coarse[i]
    target = (p_coarse + q) / 2.0
    adj_c = (1.0 - alpha) * p_coarse + alpha * target
    nonzero = ops.not_equal(q, 0.0)
    ratio = ops.where(nonzero, target / ops.where(nonzero, q, 1.0), 0.0)
    adj_f = (1.0 - alpha) * p_fine + alpha * p_fine * ops.matmul(ratio, m_t)
    # Q = 0 branch, as written: adjusted_coarse[i] / (number of children of i).
    n_children = ops.maximum(ops.sum(m, axis=0), 1.0)
    share = ops.matmul(adj_c / n_children, m_t)
    parent_zero = ops.matmul(ops.cast(ops.logical_not(nonzero), "float32"), m_t) > 0.5
    return adj_c, ops.where(parent_zero, share, adj_f)


def adapt_levels(probs, memberships, alpha, order="coarse_to_fine"):
    """Algorithm 1 on every pair of adjacent levels, in `order`.

    Args:
        probs: list of per-level `(B, n_l)` probabilities, coarsest first.
        memberships: list of the `depth - 1` membership matrices
            (`Hierarchy.membership(l)`, shape `(n_{l+1}, n_l)`).
        alpha: scalar interpolation factor.
        order: `"coarse_to_fine"` or `"fine_to_coarse"` (see module docstring).

    Returns:
        List of adapted per-level probabilities.
    """
    if order not in ORDERS:
        raise ValueError(f"Unknown adaptation order {order!r}; use one of {ORDERS}.")
    out = [ops.cast(p, "float32") for p in probs]
    pairs = range(len(out) - 1)
    if order == "fine_to_coarse":
        pairs = reversed(list(pairs))
    for l in pairs:
        out[l], out[l + 1] = adapt_pair(out[l], out[l + 1], memberships[l], alpha)
    return out


def _alpha_vector(alpha, depth):
    arr = np.asarray(alpha, np.float32).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, depth)
    if arr.size != depth:
        raise ValueError(
            f"`alpha` needs one value or one per level ({depth}); received {list(arr)}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`alpha` must be finite; received {list(arr)}.")
    return arr


@keras.saving.register_keras_serializable(package="hier_keras")
class ClassifierAdaptation(keras.layers.Layer):
    """Test-time classifier adaptation (Dutt et al. 2017, Algorithm 1); see module docstring.

    Takes and returns the model output dict `{level_name: (B, n_level) probabilities}`
    (other keys pass through unchanged); every level of the hierarchy must be present.

    Args:
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        alpha: interpolation factor, one float or one per level (coarsest
            first; level `l`'s output uses `alpha[l]`). The paper tunes it in
            [0, 2] on validation data (`hk.training.adaptation.tune_alpha`).
            Defaults to `1.0` (full projection).
        order: `"coarse_to_fine"` or `"fine_to_coarse"`: the order in which
            the level pairs of a deeper tree are adapted. Defaults to
            `"coarse_to_fine"`.
        **kwargs: `keras.layers.Layer` arguments (`name`, ...).

    Example:

    >>> import numpy as np
    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.fashion_mnist()
    >>> layer = ClassifierAdaptation(tree, alpha=[1.2, 1.0, 0.8])
    >>> probs = {n: np.full((1, s), 1.0 / s) for n, s in zip(tree.level_names, tree.level_sizes)}
    >>> [round(float(np.sum(v)), 4) for v in layer(probs).values()]
    [1.0, 1.0, 1.0]
    """

    def __init__(self, hierarchy, alpha=1.0, order="coarse_to_fine", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.hierarchy = Hierarchy.coerce(hierarchy)
        if self.hierarchy.depth < 2:
            raise ValueError("ClassifierAdaptation needs a hierarchy with at least two levels.")
        if order not in ORDERS:
            raise ValueError(f"Unknown adaptation order {order!r}; use one of {ORDERS}.")
        self.order = order
        self.memberships = [self.hierarchy.membership(l) for l in range(self.hierarchy.depth - 1)]
        values = _alpha_vector(alpha, self.hierarchy.depth)
        self.alpha = self.add_weight(
            name="alpha", shape=(self.hierarchy.depth,), trainable=False,
            initializer=keras.initializers.Constant(values), dtype="float32")
        self.built = True

    def set_alpha(self, alpha):
        """Set alpha (one float or one per level) after training; no retracing needed."""
        self.alpha.assign(_alpha_vector(alpha, self.hierarchy.depth))

    def get_alpha(self):
        """The current alpha: a float when every level has the same, else a per-level list."""
        # Shortest decimal that round-trips the float32 value (1.2, not 1.2000000476837158).
        values = [float(np.format_float_positional(v))
                  for v in np.asarray(keras.ops.convert_to_numpy(self.alpha), np.float32)]
        return values[0] if len(set(values)) == 1 else values

    def call(self, probs):
        names = self.hierarchy.level_names
        if isinstance(probs, (list, tuple)):
            probs = dict(zip(names, probs))
        missing = [n for n in names if n not in probs]
        if missing:
            raise ValueError(
                f"ClassifierAdaptation needs the probabilities of every level {names}; "
                f"missing {missing}. A model that predicts only some levels cannot be adapted."
            )
        per_level = [probs[n] for n in names]
        out = dict(probs)
        for l, name in enumerate(names):
            out[name] = adapt_levels(per_level, self.memberships, self.alpha[l], self.order)[l]
        return out

    def compute_output_spec(self, probs):
        if isinstance(probs, (list, tuple)):
            probs = dict(zip(self.hierarchy.level_names, probs))
        return {k: keras.KerasTensor(v.shape, dtype="float32") if k in self.hierarchy.level_names
                else v for k, v in probs.items()}

    def get_config(self):
        config = super().get_config()
        config.update(hierarchy=self.hierarchy.to_dict(), alpha=self.get_alpha(), order=self.order)
        return config


def adapt_probabilities(probs, hierarchy, alpha, order="coarse_to_fine") -> dict:
    """NumPy convenience: adapt a `predict()` output dict (any family) with Algorithm 1.

    Args:
        probs: `{level_name: (N, n_level)}` probabilities (extra keys kept).
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        alpha: one float or one per level.
        order: pair order for deeper trees (see module docstring).

    Returns:
        A dict of NumPy arrays, same keys.

    Example:

    >>> import numpy as np
    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> out = adapt_probabilities({"coarse": np.array([[0.9, 0.1]]),
    ...                            "fine": np.array([[0.2, 0.2, 0.6]])}, tree, alpha=2.0)
    >>> out["coarse"].astype(float).round(3).tolist()
    [[0.4, 0.6]]
    """
    tree = Hierarchy.coerce(hierarchy)
    names = tree.level_names
    missing = [n for n in names if n not in probs]
    if missing:
        raise ValueError(f"`probs` lacks the levels {missing}; adaptation needs all of {names}.")
    alphas = _alpha_vector(alpha, tree.depth)
    memberships = [tree.membership(l) for l in range(tree.depth - 1)]
    per_level = [np.asarray(probs[n], np.float32) for n in names]
    out = {k: np.asarray(v) for k, v in probs.items()}
    cache = {}
    for l, name in enumerate(names):
        a = float(alphas[l])
        if a not in cache:
            cache[a] = [np.asarray(ops.convert_to_numpy(p))
                        for p in adapt_levels(per_level, memberships, a, order)]
        out[name] = cache[a][l]
    return out
