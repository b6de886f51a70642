"""Test-time classifier adaptation (Dutt et al. 2017, Algorithm 1) on a model.

`AdaptationMixin`: MergedCNN and Ensemble mix it in. `bake_alpha` puts an
alpha into any model: into the model itself when its family has adaptation
built in, else into a one-member `Ensemble` that carries it; either is saved
with `save_to_preset`. The layer itself (`ClassifierAdaptation`) is in
`hier_keras/layers/classifier_adaptation.py`, and tuning alpha on a
validation split (`tune_alpha`, whose `AlphaSearch.best` this takes) in
`hier_keras/training/adaptation.py`.

Example:

>>> import hier_keras as hk
>>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
...                                               backbone_kwargs={"widths": [4, 8, 8]})
>>> adapted = bake_alpha(model, {"coarse": 1.0, "medium": 0.5, "fine": 1.0})
>>> type(adapted).__name__, adapted.adaptation_alpha
('Ensemble', [1.0, 0.5, 1.0])
"""

from __future__ import annotations

from hier_keras.layers.classifier_adaptation import ORDERS, ClassifierAdaptation
from hier_keras.outputs import public_outputs


class AdaptationMixin:
    """Model mixin: an optional `ClassifierAdaptation` on the public outputs.

    The layer always exists (so the weights file has the same layout with or
    without adaptation); it is applied only when `adaptation_alpha` is not
    None. Families call `_init_adaptation` in `__init__`, `_adapt` at the end
    of `call`, and add `adaptation_config()` to `get_config`.
    """

    def _init_adaptation(self, alpha, order):
        self.adaptation = ClassifierAdaptation(
            self.hierarchy, alpha=0.0 if alpha is None else alpha, order=order,
            name="classifier_adaptation")
        self._adaptation_on = alpha is not None

    @property
    def adaptation_alpha(self):
        """The baked-in alpha (float or per-level list), or None when adaptation is off."""
        return self.adaptation.get_alpha() if self._adaptation_on else None

    def set_adaptation_alpha(self, alpha):
        """Bake `alpha` (float or one per level) into the model; `None` switches adaptation off.

        The value is saved with the model (`get_config`, weights, presets).
        """
        if alpha is not None:
            missing = [n for n in self.hierarchy.level_names if n not in self.output_levels]
            if missing:
                raise ValueError(
                    f"This model does not predict the levels {missing}; classifier adaptation "
                    "needs the probabilities of every level."
                )
            self.adaptation.set_alpha(alpha)
        self._adaptation_on = alpha is not None
        # Traced predict/evaluate functions read the on/off switch at trace time.
        self.predict_function = self.test_function = self.train_function = None
        return self

    def _adapt(self, outputs):
        if not self._adaptation_on:
            return outputs
        adapted = self.adaptation(public_outputs(outputs))
        return {**outputs, **adapted}

    def adaptation_config(self) -> dict:
        return {"adaptation_alpha": self.adaptation_alpha,
                "adaptation_order": self.adaptation.order}


def bake_alpha(model, alpha, order="coarse_to_fine"):
    """Return a model that applies classifier adaptation with `alpha` to its outputs.

    Args:
        model: a hier_keras model of any family predicting every level.
        alpha: one float, one per level (coarsest first) or `{level: alpha}`
            (e.g. `AlphaSearch.best` of `hk.training.tune_alpha`).
        order: pair order for deeper trees (`AlphaSearch.order`).

    Returns:
        `model` itself when its family has adaptation built in (`MergedCNN`,
        `Ensemble`: `set_adaptation_alpha`), else `Ensemble([model],
        adaptation_alpha=alpha)`. Save either with `save_to_preset`.
    """
    if order not in ORDERS:
        raise ValueError(f"Unknown adaptation order {order!r}; use one of {ORDERS}.")
    if isinstance(alpha, dict):
        alpha = [float(alpha[n]) for n in model.hierarchy.level_names]
    if hasattr(model, "set_adaptation_alpha"):
        # The layer reads `order` when traced; set_adaptation_alpha drops the traced functions.
        model.adaptation.order = order
        return model.set_adaptation_alpha(alpha)
    # Imported here: ensemble.py mixes in AdaptationMixin from this module.
    from hier_keras.models.ensemble import Ensemble

    return Ensemble([model], adaptation_alpha=alpha, adaptation_order=order,
                    name=f"{model.name}_adapted")
