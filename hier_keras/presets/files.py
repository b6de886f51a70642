"""Preset directories and the zoo on disk: write, verify (sha256) and read their files.

A preset directory holds, like KerasHub's:

- `config.json`: `{"class_name", "registered_name", "module", "config"}`, the
  Keras serialization of the model (its config holds the hierarchy and the
  preprocessing);
- `model.weights.h5`: the weights;
- `metadata.json`: hierarchy, preprocessing, dataset, metrics with their
  split, training command, package version, date, parameter count and the
  sha256 of every other file;
- optionally `saved_model/` for serving.

The zoo is a folder of preset directories plus `index.json`; it ships inside
the package as `hier_keras/zoo` (the repository's top-level `zoo/`).

Example:

>>> import hier_keras as hk, tempfile, os
>>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist")
>>> path = os.path.join(tempfile.mkdtemp(), "p")
>>> _ = model.save_to_preset(path)
>>> sorted(os.listdir(path))
['config.json', 'metadata.json', 'model.weights.h5']
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
SAVED_MODEL_DIR = "saved_model"


class PresetError(ValueError):
    """A preset directory is missing a file, or a file is corrupted."""


def sha256_file(path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def zoo_roots() -> list[Path]:
    """Folders searched for zoo entries: the installed `hier_keras/zoo`, then the repo's `zoo/`."""
    package = Path(__file__).resolve().parent.parent
    roots = [package / "zoo", package.parent / "zoo"]
    extra = os.environ.get("HIER_KERAS_ZOO")
    if extra:
        roots.insert(0, Path(extra))
    return [r for r in roots if r.is_dir()]


def zoo_entries() -> dict[str, Path]:
    """`{name: directory}` of every preset directory in the zoo."""
    found = {}
    for root in zoo_roots():
        for d in sorted(root.iterdir()):
            # Hidden folders are a save's staging / moved-aside copies, not entries.
            if not d.name.startswith(".") and (d / METADATA_FILE).exists() \
                    and d.name not in found:
                found[d.name] = d
    return found


def read_json(path: Path, what: str) -> dict:
    if not path.exists():
        raise PresetError(
            f"Preset directory {str(path.parent)!r} has no {path.name} ({what}). Re-export "
            "it with `model.save_to_preset(dir)` or copy the missing file back."
        )
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PresetError(
            f"{path.name} in preset directory {str(path.parent)!r} is corrupted "
            f"(not valid JSON: {err}). Re-export the preset or restore the file."
        ) from err


def verify_preset_dir(directory) -> dict:
    """Check that every file exists and matches its sha256; return the metadata."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PresetError(f"Preset directory {str(directory)!r} does not exist.")
    metadata = read_json(directory / METADATA_FILE, "the preset's metadata")
    files = metadata.get("files")
    if not isinstance(files, dict) or not files:
        raise PresetError(
            f"{METADATA_FILE} in {str(directory)!r} lists no file checksums ('files'); it "
            "was not written by `save_to_preset`."
        )
    for name, expected in files.items():
        path = directory / name
        if not path.exists():
            raise PresetError(
                f"Preset directory {str(directory)!r} is missing {name}. Re-export the "
                "preset or copy the file back."
            )
        actual = sha256_file(path)
        if actual != expected:
            raise PresetError(
                f"{name} in preset directory {str(directory)!r} is corrupted: its sha256 "
                f"is {actual[:12]}..., the metadata expects {expected[:12]}.... Re-export "
                "the preset or restore the file."
            )
    return metadata


def write_preset_dir(model, directory, metadata=None, overwrite=False, saved_model=None) -> Path:
    """Write config, weights and metadata (with checksums) of `model` to `directory`.

    Everything is written into a temporary sibling folder (`.<name>.tmp-*`),
    checked, and only then renamed into place; a save that fails half-way
    (a weights error, a metadata value JSON cannot hold) leaves the previous
    preset as it was. Replacing an existing preset moves it aside
    (`.<name>.old-*`), renames the new one in and deletes the old one (moved
    back if the rename fails).

    Args:
        model: the `HierarchicalModel`.
        directory: the preset folder (its parents are created).
        metadata: extra metadata (JSON-ready; NumPy scalars and arrays are
            converted).
        overwrite: replace an existing non-empty `directory`. Defaults to
            `False`: a `PresetError` instead.
        saved_model: a SavedModel folder exported from *this* model (e.g. by
            `model.export`), copied in as `saved_model/` and hashed. Nothing
            of the old directory survives otherwise: a `saved_model/` that
            is there already is dropped, since it may belong to other weights.
    """
    import shutil
    import tempfile

    import keras

    import hier_keras

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise PresetError(f"Preset path {str(directory)!r} is a file, not a folder.")
    if directory.is_dir() and any(directory.iterdir()) and not overwrite:
        raise PresetError(
            f"Preset directory {str(directory)!r} already holds files; pass overwrite=True to "
            "replace it, or choose another folder."
        )
    if saved_model is not None and not (Path(saved_model) / "saved_model.pb").is_file():
        raise PresetError(f"`saved_model` {str(saved_model)!r} is not a SavedModel folder "
                          "(no saved_model.pb); export it with `model.export(path)`.")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would make the preset private
    try:
        config = keras.saving.serialize_keras_object(model)
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=1))
        model.save_weights(str(staging / WEIGHTS_FILE))
        if saved_model is not None:
            shutil.copytree(saved_model, staging / SAVED_MODEL_DIR)
        meta = {
            "family": type(model).__name__,
            "hier_keras_version": hier_keras.__version__,
            "keras_version": keras.__version__,
            "date": datetime.date.today().isoformat(),
            "parameters": int(model.count_params()),
            "hierarchy": model.hierarchy.to_dict(),
            "preprocessing": model.preprocessing,
        }
        meta.update(metadata or {})
        files = {CONFIG_FILE: sha256_file(staging / CONFIG_FILE),
                 WEIGHTS_FILE: sha256_file(staging / WEIGHTS_FILE)}
        for path in sorted((staging / SAVED_MODEL_DIR).rglob("*")):
            if path.is_file():
                files[path.relative_to(staging).as_posix()] = sha256_file(path)
        meta["files"] = files
        try:
            text = json.dumps(meta, indent=1, default=_json_default)
        except (TypeError, ValueError) as err:
            bad = [k for k, v in meta.items() if not _json_ok(v)]
            raise PresetError(
                f"Metadata {bad or ''} cannot be stored as JSON ({err}); pass plain "
                f"numbers, strings, lists and dicts. {str(directory)!r} is unchanged."
            ) from err
        (staging / METADATA_FILE).write_text(text)
        verify_preset_dir(staging)
        _swap_in(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def _json_ok(value) -> bool:
    try:
        json.dumps(value, default=_json_default)
        return True
    except (TypeError, ValueError):
        return False


def _swap_in(staging: Path, directory: Path):
    """Rename `staging` to `directory`, replacing (and then deleting) what was there."""
    import shutil
    import tempfile

    if not directory.exists():
        staging.rename(directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
    old.rmdir()
    directory.rename(old)
    try:
        staging.rename(directory)
    except BaseException:
        old.rename(directory)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"Not JSON serializable: {type(obj).__name__}")


def read_preset_config(directory) -> tuple[dict, dict]:
    """`(serialized model config, metadata)` of a verified preset directory."""
    directory = Path(directory)
    metadata = verify_preset_dir(directory)
    config = read_json(directory / CONFIG_FILE, "the model config")
    if "config" not in config or "class_name" not in config:
        raise PresetError(
            f"{CONFIG_FILE} in {str(directory)!r} is not a Keras model config "
            "(needs 'class_name' and 'config')."
        )
    return config, metadata
