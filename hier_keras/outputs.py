"""The output contract every family keeps, in one place.

`model(images)` / `predict()` return `{level_name: (batch, n_level)
probabilities}`; training-only entries (logits, features) ride along under
keys that start with `_` and are dropped by `public_outputs`. Per-level
scores may also be given as a list, coarsest first (`level_list` reads both).

Example:

>>> public_outputs({"coarse": 1, "_logits": 2})
{'coarse': 1}
>>> level_list({"fine": "f", "coarse": "c"}, ["coarse", "fine"])
{0: 'c', 1: 'f'}
"""

from __future__ import annotations

PRIVATE_PREFIX = "_"


def public_outputs(y_pred: dict) -> dict:
    """Drop the training-only entries (keys starting with `_`) of a model output."""
    return {k: v for k, v in y_pred.items() if not str(k).startswith(PRIVATE_PREFIX)}


def level_list(y_pred, level_names=None) -> dict:
    """`{level index: scores}` from a list (coarsest first) or a dict keyed by level name."""
    if isinstance(y_pred, dict):
        if level_names is None:
            raise ValueError(
                "`y_pred` is a dict, so this needs the level names to read it "
                "(pass `hierarchy=` or `level_name=`)."
            )
        return {i: y_pred[n] for i, n in enumerate(level_names) if n in y_pred}
    if isinstance(y_pred, (list, tuple)):
        return dict(enumerate(y_pred))
    raise ValueError(
        "`y_pred` must be a dict {level_name: probs} or a list of per-level probs "
        f"(coarsest first); received {type(y_pred).__name__}."
    )
