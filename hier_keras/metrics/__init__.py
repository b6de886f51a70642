"""Hierarchical classification metrics: streaming Keras metrics and NumPy functions.

The modules, by concern (every name is re-exported here, so
`from hier_keras.metrics import X` and `hk.metrics.X` work for all of them):

- `streaming`: **streaming Keras metrics** (`LevelAccuracy`, `ExactMatch`,
  `Consistency`, `TopKLevelAccuracy`) that a model tracks during `fit` /
  `evaluate`, and `level_metrics(hierarchy)`, the default set. keras.ops
  only; they serialise with `get_config`.
- `path_metrics`: **NumPy functions** on label paths (`level_accuracy`,
  `exact_match`, `node_accuracy`, `consistency`, `hierarchical_prf`,
  `mistake_severity`, `top_k_accuracy`, the strict `path_accuracy`) and
  `paths_from_probs`.
- `multilabel`: multi-label path predictions (`multilabel_on_nodes`,
  `multilabel_f1`, `tune_threshold`, `multilabel_path_sets`).
- `evaluation`: `evaluate` / `evaluate_model`, which gather the path metrics
  in a one-row pandas DataFrame.

Labels are int `(N, depth)`, coarsest first, `-1` unknown, `-2` end of path.
All accuracies are fractions in [0, 1] (not percent). A `hierarchy` argument
is a `Hierarchy`, a built-in name or a `Hierarchy.to_dict()` dict
(`Hierarchy.coerce`).

Predicted paths: `paths_from_probs` (`hier_keras.paths.argmax_paths`) takes
the argmax of every level independently and, by default, ends a path after a
predicted leaf (a variable-depth tree has nothing below a leaf; fixed-depth
trees are not affected). The streaming `ExactMatch` and `Consistency` use the
same paths, so over a dataset they equal `exact_match` / `consistency` of
`paths_from_probs(probs, hierarchy)`. `LevelAccuracy` scores each level's
own argmax, which is the same thing on fixed-depth trees.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.fashion_mnist()
>>> y = tree.complete(np.array([0, 9]))
>>> exact_match(y, np.array([[0, 0, 0], [1, 5, 7]]))
0.5
"""

from hier_keras.metrics.path_metrics import (
    consistency,
    exact_match,
    hierarchical_prf,
    level_accuracy,
    mistake_severity,
    node_accuracy,
    path_accuracy,
    paths_from_probs,
    top_k_accuracy,
)
from hier_keras.metrics.streaming import (
    EPSILON,
    Consistency,
    ExactMatch,
    LevelAccuracy,
    TopKLevelAccuracy,
    level_metrics,
)
from hier_keras.metrics.multilabel import (
    multilabel_f1,
    multilabel_on_nodes,
    multilabel_path_sets,
    tune_threshold,
)
from hier_keras.metrics.evaluation import evaluate, evaluate_model

__all__ = [
    "Consistency", "EPSILON", "ExactMatch", "LevelAccuracy", "TopKLevelAccuracy", "consistency",
    "evaluate", "evaluate_model", "exact_match", "hierarchical_prf", "level_accuracy",
    "level_metrics", "mistake_severity", "multilabel_f1", "multilabel_on_nodes",
    "multilabel_path_sets", "node_accuracy", "path_accuracy", "paths_from_probs",
    "top_k_accuracy", "tune_threshold",
]
