"""Training utilities: resumable fitting with the preset's schedule, pseudo-labelling,
alternating training, distribution strategies and mixed precision."""

from hier_keras.training.alternating import AlternatingTraining
from hier_keras.training.callbacks import ResumablePlateau
from hier_keras.training.distribute import precision_policy, strategy_from_name
from hier_keras.training.fit import fit_model, steps_in
from hier_keras.training.pseudo_label import pseudo_label_fit

__all__ = ["AlternatingTraining", "ResumablePlateau", "fit_model", "precision_policy",
           "pseudo_label_fit", "steps_in", "strategy_from_name"]
