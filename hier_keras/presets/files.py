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
    here = Path(__file__).resolve().parent
    roots = [here / "zoo", here.parent / "zoo"]
    extra = os.environ.get("HIER_KERAS_ZOO")
    if extra:
        roots.insert(0, Path(extra))
    return [r for r in roots if r.is_dir()]


def zoo_entries() -> dict[str, Path]:
    """`{name: directory}` of every preset directory in the zoo."""
    found = {}
    for root in zoo_roots():
        for d in sorted(root.iterdir()):
            if (d / METADATA_FILE).exists() and d.name not in found:
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


def write_preset_dir(model, directory, metadata=None) -> Path:
    """Write config, weights and metadata (with checksums) of `model` to `directory`."""
    import keras

    import hier_keras

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    with open(directory / CONFIG_FILE, "w") as f:
        json.dump(config, f, indent=1)
    model.save_weights(str(directory / WEIGHTS_FILE))
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
    files = {CONFIG_FILE: sha256_file(directory / CONFIG_FILE),
             WEIGHTS_FILE: sha256_file(directory / WEIGHTS_FILE)}
    if (directory / "saved_model").is_dir():
        for path in sorted((directory / "saved_model").rglob("*")):
            if path.is_file():
                files[str(path.relative_to(directory))] = sha256_file(path)
    meta["files"] = files
    with open(directory / METADATA_FILE, "w") as f:
        json.dump(meta, f, indent=1, default=_json_default)
    return directory


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
