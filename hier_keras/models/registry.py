"""The family registry: one lookup from a family name to its model class.

Every family class is decorated with `@register_family` (which also registers
it with Keras serialization under `hier_keras>Name`). The CLI, the tuner, preset
loading and the registry-wide tests all go through `get_family` /
`list_families`; `hier_keras.models` imports every family, so the registry is
complete once `hier_keras` is imported.

Example:

>>> import hier_keras as hk
>>> hk.models.get_family("CNNRNN") is hk.models.CNNRNN
True
>>> "MergedCNN" in hk.models.list_families()
True
"""

from __future__ import annotations

import difflib

import keras

_FAMILIES: dict[str, type] = {}


def register_family(cls):
    """Class decorator: register a family (and its Keras serialization) under its class name."""
    name = cls.__name__
    if name in _FAMILIES and _FAMILIES[name] is not cls:
        raise ValueError(f"Family {name!r} is registered twice.")
    _FAMILIES[name] = cls
    return keras.saving.register_keras_serializable(package="hier_keras")(cls)


def list_families(with_presets=False) -> list[str]:
    """Registered family names; `with_presets=True`: only those with built-in presets."""
    return sorted(n for n, c in _FAMILIES.items() if c.presets or not with_presets)


def get_family(name):
    """The model class of a family name (`"CNNRNN"`, `"MergedCNN"`, ...), or the class itself.

    Raises:
        ValueError: unknown name; the message lists the families and the closest match.
    """
    if isinstance(name, type) and name in _FAMILIES.values():
        return name
    if name in _FAMILIES:
        return _FAMILIES[name]
    lowered = {n.lower(): n for n in _FAMILIES}
    if str(name).lower() in lowered:
        return _FAMILIES[lowered[str(name).lower()]]
    close = difflib.get_close_matches(str(name), list(_FAMILIES), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"Unknown family {name!r}.{hint} Families: {list_families()}.")
