"""Keras-tuner searches over every family: `HierarchicalHyperModel`, `tune()`, the tuners.

One generic `HierarchicalHyperModel` serves every family: it builds the
family's preset with constructor arguments drawn from the family's search
space, which lives next to the family in
`hier_keras/models/<family>/<family>_search_space.py` (the paper's ranges;
see `search_space_module`). Learning rate, weight decay and batch size are
searched for every family. Adding a family's search space is one small module
next to its model module, which needs no keras-tuner import:

    # hier_keras/models/myfamily/myfamily_search_space.py
    def search_space(space, hp):
        return {"width": space.choice(hp, "width", [32, 64], default=32)}

(`space` is the hypermodel: `choice`, `log_float` and `linear_float` apply the
caller's `space={...}` narrowing; `space.config` is the preset config the
trials start from.) A family defined elsewhere passes
`HierarchicalHyperModel(MyFamily, search_space=fn)`.

Objectives name per-level metrics as the models log them:
`val_<level>_accuracy`, `val_exact_match`, `val_consistency`, `val_loss`
(`objective_for` builds them and checks the level exists; keras-tuner cannot
infer the direction of such names, so it is always given).

The batch size is a hyperparameter of `HyperModel.fit`: give `fit` arrays
(or an unbatched / batched `tf.data` dataset) and it batches them itself.
Classifier adaptation (Dutt et al. 2017) is tuned after the search, on the
same validation split (`tune(..., adapt_alpha=True)`).

- `hypermodel`: `HierarchicalHyperModel`, `get_hypermodel`, `objective_for`,
  the search-space lookup and the common ranges;
- `search`: `make_tuner`, the tuner classes, `tune` and `TuneResult`.

Example:

>>> import keras_tuner
>>> hm = get_hypermodel("CNNRNN", space={"units": [16], "embedding_dim": [8]},
...                     overrides={"backbone_kwargs": {"widths": [4, 8, 8]}})
>>> model = hm.build(keras_tuner.HyperParameters())
>>> type(model).__name__, model.units, model.embedding_dim
('CNNRNN', 16, 8)
>>> objective_for(model.hierarchy).name
'val_fine_accuracy'
>>> tunable_families()[:4]
['CHRNN', 'CNNRNN', 'DHNN', 'HierarchicalCNN']
"""

try:
    import keras_tuner  # noqa: F401
except ImportError as err:  # pragma: no cover - keras-tuner is an install requirement
    raise ImportError(
        "hier_keras.tuning needs keras-tuner: `pip install keras-tuner`."
    ) from err

from hier_keras.tuning.hypermodel import (
    BATCH_SIZES,
    COMMON,
    DEFAULT_PRESET,
    LEARNING_RATES,
    WEIGHT_DECAY,
    HierarchicalHyperModel,
    get_hypermodel,
    objective_for,
    search_space_module,
    tunable_families,
)
from hier_keras.tuning.search import (
    TUNERS,
    BayesianOptimization,
    Hyperband,
    RandomSearch,
    TuneResult,
    make_tuner,
    tune,
)

__all__ = [
    "BATCH_SIZES", "COMMON", "DEFAULT_PRESET", "LEARNING_RATES", "TUNERS", "WEIGHT_DECAY",
    "BayesianOptimization", "HierarchicalHyperModel", "Hyperband", "RandomSearch", "TuneResult",
    "get_hypermodel", "make_tuner", "objective_for", "search_space_module", "tunable_families",
    "tune",
]
