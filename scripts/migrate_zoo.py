"""Re-save every zoo entry in the current config format, weights and figures unchanged.

The architecture redesign (issue 14) stores the backbone nested in each
model's config (`"backbone": {"class_name": "Backbone", ...}`) and turns the
backbone into a `hk.backbones.Backbone` model. Weights files name a nested
model by its class, so an entry whose backbone sat in the model's `layers`
list (C-HRNN's trunk) stored it under `layers/functional/...`, which is now
`layers/backbone/...`. This script renames those groups, loads the weights
into the current classes, checks that the predictions on fixed random images
equal those of the weights read the old way (`--check OLD.npz`, written by the
pre-change code), and re-writes config, weights and metadata in place (the
metadata's measured metrics, command and date are kept; `saved_model/` is
unchanged and re-hashed).

    python scripts/migrate_zoo.py [--check preds_before.npz]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np

import hier_keras as hk
from hier_keras.presets import files as preset_files

RENAMES = {"layers/functional": "layers/backbone"}


def migrated_weights(path: Path, out: Path) -> int:
    shutil.copyfile(path, out)
    n = 0
    with h5py.File(out, "r+") as f:
        for old, new in RENAMES.items():
            if old in f and new not in f:
                f.move(old, new)
                n += 1
    return n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default=str(Path(__file__).resolve().parents[1] / "zoo"))
    parser.add_argument("--check", default=None, help="npz of predictions before the change")
    args = parser.parse_args(argv)
    before = np.load(args.check) if args.check else None
    rng = np.random.default_rng(0)
    for name in sorted(os.listdir(args.zoo)):
        directory = Path(args.zoo) / name
        if not (directory / preset_files.METADATA_FILE).exists():
            continue
        serialized, metadata = preset_files.read_preset_config(directory)
        cls = hk.models.get_family(metadata["family"])
        model = cls.from_config(dict(serialized["config"]))
        renamed = 0
        try:
            model.load_weights(str(directory / preset_files.WEIGHTS_FILE))
        except ValueError:  # the backbone's group is named after its old class
            with tempfile.TemporaryDirectory() as tmp:
                weights = Path(tmp) / preset_files.WEIGHTS_FILE
                renamed = migrated_weights(directory / preset_files.WEIGHTS_FILE, weights)
                model.load_weights(str(weights))
        x = rng.uniform(0, 255, (16,) + tuple(model.image_shape)).astype("float32")
        probs = model.predict(x, verbose=0)
        if before is not None:
            worst = max(float(np.abs(before[f"{name}/{k}"] - v).max()) for k, v in probs.items())
            same_paths = np.array_equal(before[f"{name}/paths"], model.predict_label_paths(x))
            if worst > 1e-5 or not same_paths:
                raise SystemExit(f"{name}: predictions differ after migration ({worst:.2e}).")
            print(f"{name}: predictions equal (max |diff| {worst:.1e}), {renamed} group(s) renamed")
        meta = {k: v for k, v in metadata.items() if k != "files"}
        serving = directory / preset_files.SAVED_MODEL_DIR
        # The old SavedModel stays: --check has shown the weights are the same.
        preset_files.write_preset_dir(model, directory, meta, overwrite=True,
                                      saved_model=serving if serving.is_dir() else None)
    index = Path(args.zoo) / "index.json"
    print(json.dumps([e["name"] for e in json.loads(index.read_text())]))


if __name__ == "__main__":
    main()
