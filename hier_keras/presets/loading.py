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
import difflib
import logging
import os
import re
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

logger = logging.getLogger(__name__)


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
    close = difflib.get_close_matches(str(preset), list(presets) + zoo, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"Unknown preset identifier {preset!r} for {family}.{hint} A preset is a built-in name "
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
            new `hierarchy` or `input_shape`, `transfer_weights` decides
            what is kept: the backbone, and the heads of levels whose
            classes did not change; the others start fresh. A warning on
            the `hier_keras.presets.loading` logger says how many weights
            were kept and names those that start fresh (the kept ones are
            listed at INFO level).
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
    kept, fresh = transfer_weights(saved, model)
    logger.warning(
        "Preset %s loaded with a new %s: %d weights kept, %d start fresh%s.",
        str(directory), " and ".join(sorted(changed)), len(kept), len(fresh),
        f" ({', '.join(fresh)})" if fresh else "")
    logger.info("Weights kept from %s: %s", str(directory), ", ".join(kept))
    return model


def transfer_matching_weights(source, target) -> int:
    """Copy weights between same-named variables of equal shape; returns how many.

    This copies by variable path only; `load_preset` uses `transfer_weights`,
    which also resets the heads of levels whose classes changed.
    """
    by_path = {v.path: v for v in source.weights}
    count = 0
    for var in target.weights:
        src = by_path.get(var.path)
        if src is not None and tuple(src.shape) == tuple(var.shape):
            var.assign(src.value)
            count += 1
    return count


def _level_keys(tree):
    """Per level: (level name, class names, parent names), what a level's head predicts."""
    keys = []
    for level in range(tree.depth):
        up = tree.class_names[level - 1] if level else []
        parents = [up[p] for p in tree.parents[level]] if level else []
        keys.append((tree.class_names[level], parents))
    return keys


def _names_level(path, name):
    return re.search(rf"(^|[/_]){re.escape(name)}($|[/_])", path) is not None


def transfer_weights(source, target) -> tuple[list, list]:
    """Copy `source`'s weights into `target` where they still mean the same; `(kept, fresh)`.

    The rule, for two models of one family whose hierarchies (or input shapes)
    differ; variables are matched by path, as in `transfer_matching_weights`:

    1. a variable of another shape (or missing in `source`) starts fresh;
    2. backbone variables (`target.backbone.weights`) are kept;
    3. a variable whose path names a level (`coarse_logits/kernel`,
       `fine_bn/gamma`, `level_2_...`: the level name as a `/`- or `_`-
       separated part, old or new names) belongs to that level's head: it is
       kept only when that level and every coarser one have the same class
       names, in the same order, with the same parents (a regrouped tree of
       the same sizes resets its heads);
    4. any other variable with a dimension equal to a tree size of either
       tree (a level size, the number of nodes, + 1 or + 2: node embeddings,
       vocabulary logits) depends on the whole tree: kept only when every
       level is unchanged;
    5. the rest (trunk layers between backbone and heads) is kept.
    """
    old, new = source.hierarchy, target.hierarchy
    old_keys, new_keys = _level_keys(old), _level_keys(new)
    same_upto = 0
    while (same_upto < min(old.depth, new.depth)
           and old_keys[same_upto] == new_keys[same_upto]):
        same_upto += 1
    same_tree = same_upto == old.depth == new.depth
    sizes = set()
    for tree in (old, new):
        sizes.update(tree.level_sizes)
        sizes.update(tree.num_nodes + k for k in range(3))
    names = {name: level for level, name in enumerate(new.level_names)}
    for name in old.level_names:
        names.setdefault(name, -1)  # a level the new tree does not have: never kept
    backbone = getattr(target, "backbone", None)
    in_backbone = {v.path for v in getattr(backbone, "weights", [])}
    by_path = {v.path: v for v in source.weights}
    kept, fresh = [], []
    for var in target.weights:
        src = by_path.get(var.path)
        ok = src is not None and tuple(src.shape) == tuple(var.shape)
        if ok and var.path not in in_backbone:
            local = var.path.removeprefix(f"{target.name}/")  # the model's own name is no level
            levels = [lvl for name, lvl in names.items() if _names_level(local, name)]
            if levels:
                ok = all(0 <= lvl < same_upto for lvl in levels)
            elif any(int(d) in sizes for d in var.shape):
                ok = same_tree
        if ok:
            var.assign(src.value)
        (kept if ok else fresh).append(var.path)
    return kept, fresh


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
