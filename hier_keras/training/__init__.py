"""Training utilities (`hk.training`): resumable fitting with the preset's schedule,
pseudo-labelling, alternating training, classifier-adaptation tuning, distribution
strategies and mixed precision.

Example:

>>> import hier_keras as hk
>>> callable(hk.training.fit_model), callable(hk.training.tune_alpha)
(True, True)
"""

from hier_keras.training.adaptation import AlphaSearch, alpha_curve, tune_alpha
from hier_keras.training.alternating import AlternatingTraining
from hier_keras.training.callbacks import ResumablePlateau, plateau_callback
from hier_keras.training.distribute import precision_policy, strategy_from_name
from hier_keras.training.fine_tune import fine_tune
from hier_keras.training.fit import fit_model, steps_in
from hier_keras.training.freezing import set_trainable
from hier_keras.training.pseudo_label import pseudo_label_fit

__all__ = ["AlphaSearch", "AlternatingTraining", "ResumablePlateau", "alpha_curve", "fine_tune", "fit_model",
           "plateau_callback", "precision_policy", "pseudo_label_fit", "set_trainable", "steps_in", "strategy_from_name",
           "tune_alpha"]
