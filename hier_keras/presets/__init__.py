"""Presets: built-in architecture presets, the zoo, and preset directories.

- `files`: a preset directory's files (`config.json`, `model.weights.h5`,
  `metadata.json`, optional `saved_model/`), their sha256 checksums, and the
  zoo folders;
- `loading`: `from_preset`'s resolution (built-in name -> zoo entry ->
  directory) and `load_preset`, which rebuilds a model from a directory;
- `registry`: `list_presets()`, every preset of every family in one table;
- `constants`: dataset statistics and training recipes the families share.

Example:

>>> import hier_keras as hk
>>> rows = hk.presets.list_presets("CNNRNN")
>>> "small_fashion_mnist" in [r["name"] for r in rows]
True
"""

from hier_keras.presets.files import (
    CONFIG_FILE,
    METADATA_FILE,
    SAVED_MODEL_DIR,
    WEIGHTS_FILE,
    PresetError,
    read_json,
    read_preset_config,
    sha256_file,
    verify_preset_dir,
    write_preset_dir,
    zoo_entries,
    zoo_roots,
)
from hier_keras.presets.loading import (
    load_preset,
    resolve_preset,
    transfer_matching_weights,
)
from hier_keras.presets.registry import list_presets, zoo_family

__all__ = [
    "CONFIG_FILE", "METADATA_FILE", "SAVED_MODEL_DIR", "WEIGHTS_FILE", "PresetError", "list_presets",
    "load_preset", "read_json", "read_preset_config", "resolve_preset", "sha256_file",
    "transfer_matching_weights", "transfer_weights", "verify_preset_dir", "write_preset_dir", "zoo_entries",
    "zoo_family", "zoo_roots",
]
