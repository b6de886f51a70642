"""`from_preset`'s one dispatch, and loading a model from a preset directory.

A preset identifier resolves, in this order (KerasHub's `preset_utils`):
a built-in architecture preset of the family -> a zoo entry -> a directory
written by `save_to_preset`; anything else is a `ValueError` that lists the
accepted forms. `hier-keras` loads through the same function.

Example:

>>> import hier_keras as hk
>>> kind, where = resolve_preset(hk.models.CNNRNN, "small_fashion_mnist")
>>> kind
'architecture'
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import keras

from hier_keras.hierarchy import Hierarchy
from hier_keras.presets.files import (
    WEIGHTS_FILE,
    PresetError,
    read_preset_config,
    zoo_entries,
)
from hier_keras.presets.registry import zoo_family


def resolve_preset(cls, preset):
    """`("architecture", config)` or `("directory", path)` for a preset identifier.

    Args:
        cls: a family class, or `None` / the base class for "any family"
            (then only zoo entries and directories resolve).
        preset: a built-in name, a zoo entry name or a directory path.
    """
    preset = str(preset) if isinstance(preset, Path) else preset
    presets = getattr(cls, "presets", None) or {}
    if isinstance(preset, str) and preset in presets:
        return "architecture", copy.deepcopy(presets[preset]["config"])
    if isinstance(preset, str) and os.path.isdir(preset):
        return "directory", Path(preset)
    entries = zoo_entries()
    if isinstance(preset, str) and preset in entries:
        return "directory", entries[preset]
    family = getattr(cls, "__name__", "any family")
    zoo = sorted(n for n, d in entries.items() if cls is None or not presets
                 or zoo_family(d) == family)
    raise ValueError(
        f"Unknown preset identifier {preset!r} for {family}. A preset is a built-in name "
        f"({sorted(presets)}), a zoo entry ({zoo}), or a directory written by "
        "`save_to_preset`. List them with `hier_keras.presets.list_presets()` or "
        "`hier-keras presets`."
    )


def load_preset(directory, cls=None, load_weights=True, **overrides):
    """Load a model from a preset directory (verifies checksums first).

    Args:
        directory: a folder written by `save_to_preset`.
        cls: the family expected (`None`: whatever the directory holds).
        load_weights: load `model.weights.h5`.
        **overrides: constructor arguments replacing the saved ones. With a
            new `hierarchy` or `input_shape`, weights of layers whose shapes
            still fit are loaded (the backbone) and the others start fresh.
    """
    from hier_keras.models.base import HierarchicalModel

    serialized, _ = read_preset_config(directory)
    config = dict(serialized["config"])
    model_cls = keras.saving.get_registered_object(serialized.get("registered_name"))
    if model_cls is None:
        raise PresetError(
            f"config.json in {str(directory)!r} names an unknown class "
            f"{serialized.get('registered_name')!r}."
        )
    if cls is not None and cls is not HierarchicalModel and not issubclass(model_cls, cls):
        raise ValueError(
            f"Preset {str(directory)!r} holds a {model_cls.__name__}, not a {cls.__name__}; "
            f"load it with hier_keras.models.{model_cls.__name__}.from_preset."
        )
    changed = {k for k, v in overrides.items() if k in ("hierarchy", "input_shape")
               and _canonical(v) != _canonical(config.get(k))}
    config.update(overrides)
    model = model_cls.from_config(config)
    if not load_weights:
        return model
    weights = str(Path(directory) / WEIGHTS_FILE)
    if not changed:
        model.load_weights(weights)
        return model
    saved = model_cls.from_config(dict(serialized["config"]))
    saved.load_weights(weights)
    transfer_matching_weights(saved, model)
    return model


def transfer_matching_weights(source, target) -> int:
    """Copy weights between same-named variables of equal shape; returns how many."""
    by_path = {v.path: v for v in source.weights}
    count = 0
    for var in target.weights:
        src = by_path.get(var.path)
        if src is not None and tuple(src.shape) == tuple(var.shape):
            var.assign(src.value)
            count += 1
    return count


def _canonical(value):
    if value is None:
        return None
    if isinstance(value, (Hierarchy, str, dict)) and not isinstance(value, (list, tuple)):
        try:
            return Hierarchy.coerce(value).to_dict()
        except (ValueError, TypeError):
            return value
    if isinstance(value, (list, tuple)):
        return list(value)
    return value
