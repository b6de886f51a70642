"""`Ensemble`: average the per-level probabilities of n models, then optionally adapt them.

Dutt et al. 2017, Sec. 4 ("ensemble-n corresponds to the averaging of the
predictions from n different instances of the same architecture") followed by
classifier adaptation (Algorithm 1): the probabilities of every level are
averaged over the members that predict that level, and `ClassifierAdaptation`
is applied to the averages when `adaptation_alpha` is set. Members may be of
any family (they only need the `{level_name: probabilities}` output contract,
the same hierarchy and the same input shape); each normalises the raw images
itself. An `Ensemble` of one member with an alpha is how a tuned alpha is
baked into a model of a family that has no adaptation of its own
(`hk.models.adaptation.bake_alpha`).

`fit` on an Ensemble trains every member on its own loss in one run (the
loss is the sum of the members' losses, so each member's gradient is its own
loss's); ensembles in the paper are members trained in separate runs, which
is what you get by training members first and then wrapping them.

Saving: `get_config` holds each member's full serialization
(`keras.saving.serialize_keras_object`), so `save`, `save_to_preset` and
`from_preset` round-trip the whole ensemble.

Example:

>>> import hier_keras as hk, numpy as np
>>> from hier_keras.models.ensemble import Ensemble
>>> tiny = {"backbone_kwargs": {"widths": [4, 8, 8]}}
>>> a = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **tiny)
>>> b = hk.models.CNNRNN.from_preset("small_fashion_mnist", **tiny)
>>> ens = Ensemble([a, b], adaptation_alpha=1.0)
>>> out = ens.predict(np.zeros((2, 28, 28, 1)), verbose=0)
>>> [round(float(out[n][0].sum()), 4) for n in ens.level_names]
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import keras
from keras import ops

from hier_keras.hierarchy import Hierarchy
from hier_keras.models.adaptation import AdaptationMixin
from hier_keras.models.base import HierarchicalModel
from hier_keras.models.registry import register_family
from hier_keras.outputs import public_outputs


@register_family
class Ensemble(AdaptationMixin, HierarchicalModel):
    """Per-level probability average of member models + optional classifier adaptation.

    Args:
        members: list of hier_keras models (any family; or their
            serializations, as in `get_config`), same hierarchy and input shape.
        adaptation_alpha: `None` (plain average) or the alpha of
            `ClassifierAdaptation` (float or one per level) applied to the
            averaged probabilities. Needs every level predicted by some member.
        adaptation_order: pair order of the adaptation on deeper trees.
        hierarchy, input_shape: optional; default to (and must equal) the
            members'.
        **kwargs: other `HierarchicalModel` arguments (`name`,
            `training_config`, ...); `mean`/`std` are the first member's by
            default and are informative only (members normalise).

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> tiny = {"backbone_kwargs": {"widths": [4, 8, 8]}}
    >>> members = [hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **tiny)
    ...            for _ in range(2)]
    >>> ens = Ensemble(members)
    >>> x = np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)).astype("float32")
    >>> want = (members[0].predict(x, verbose=0)["fine"] + members[1].predict(x, verbose=0)["fine"]) / 2
    >>> bool(np.allclose(ens.predict(x, verbose=0)["fine"], want, atol=1e-6))
    True
    """

    presets: dict = {}
    family_key = "ensemble"

    def __init__(self, members, adaptation_alpha=None, adaptation_order="coarse_to_fine",
                 hierarchy=None, input_shape=None, **kwargs):
        members = [m if isinstance(m, keras.Model) else _deserialize_member(m) for m in members]
        if not members:
            raise ValueError("An Ensemble needs at least one member model.")
        first = members[0]
        for i, m in enumerate(members):
            if not hasattr(m, "hierarchy") or not hasattr(m, "image_shape"):
                raise ValueError(
                    f"Member {i} ({type(m).__name__}) is not a hier_keras model (it needs "
                    "`hierarchy`, `image_shape` and the per-level probability output)."
                )
            if m.hierarchy != first.hierarchy:
                raise ValueError(f"Member {i} has a different hierarchy from member 0.")
            if tuple(m.image_shape) != tuple(first.image_shape):
                raise ValueError(
                    f"Member {i} takes images of shape {m.image_shape}, member 0 "
                    f"{first.image_shape}; ensemble members need the same input shape."
                )
        if hierarchy is not None and first.hierarchy != Hierarchy.coerce(hierarchy):
            raise ValueError("`hierarchy` differs from the members' hierarchy.")
        if input_shape is not None and tuple(input_shape) != tuple(first.image_shape):
            raise ValueError(f"`input_shape` {tuple(input_shape)} differs from the members' "
                             f"{tuple(first.image_shape)}.")
        kwargs.setdefault("mean", first.mean)
        kwargs.setdefault("std", first.std)
        kwargs.setdefault("training_config", dict(getattr(first, "training_config", {})))
        super().__init__(first.hierarchy, first.image_shape, **kwargs)
        # === Layers ===
        self.members = members
        self._levels = [n for n in self.hierarchy.level_names
                        if any(n in _levels_of(m) for m in members)]
        self._init_adaptation(adaptation_alpha, adaptation_order)
        if adaptation_alpha is not None:
            self.set_adaptation_alpha(adaptation_alpha)
        self.build_model()

    @property
    def output_levels(self):
        return list(getattr(self, "_levels", None) or self.hierarchy.level_names)

    def call(self, images, training=False):
        images = ops.cast(images, "float32")
        outs = [public_outputs(m(images, training=training)) if not training
                else m(images, training=True) for m in self.members]
        averaged = {}
        for name in self.output_levels:
            probs = [ops.cast(o[name], "float32") for o in outs if name in o]
            averaged[name] = ops.mean(ops.stack(probs, axis=0), axis=0)
        averaged = self._adapt(averaged)
        if training:
            averaged["_members"] = outs
        return averaged

    def hierarchical_loss(self, y, y_pred):
        """Sum of the members' own losses (each member trained on its own loss)."""
        if "_members" not in y_pred:
            return super().hierarchical_loss(y, y_pred)
        return sum(m.hierarchical_loss(y, o) for m, o in zip(self.members, y_pred["_members"]))

    def get_config(self):
        config = super().get_config()
        config.update(members=[_serialize_member(m) for m in self.members],
                      **self.adaptation_config())
        return config


def _serialize_member(model):
    """A member's Keras serialization without its compile state (the ensemble owns training)."""
    serialized = keras.saving.serialize_keras_object(model)
    serialized.pop("compile_config", None)
    return serialized


def _deserialize_member(serialized):
    """Deserialize a member (every family is registered once `hier_keras.models` is imported)."""
    return keras.saving.deserialize_keras_object(serialized)


def _levels_of(model):
    return getattr(model, "output_levels", model.hierarchy.level_names)

