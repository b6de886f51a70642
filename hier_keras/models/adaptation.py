"""`AdaptationMixin`: test-time classifier adaptation (Dutt et al. 2017, Algorithm 1) on a model.

MergedCNN and Ensemble mix it in; the layer itself (`ClassifierAdaptation`) is
in `hier_keras/layers/classifier_adaptation.py`, and tuning alpha on a
validation split in `hier_keras/training/adaptation.py`.
"""

from __future__ import annotations

from hier_keras.layers.classifier_adaptation import ClassifierAdaptation
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
