"""Every preset of every family in one table: built-in architectures and zoo entries.

Example:

>>> import hier_keras as hk
>>> row = [r for r in hk.presets.list_presets() if r["name"] == "wrn28_10"][0]
>>> row["family"] in hk.models.list_families()
True
"""

from __future__ import annotations

import json
from pathlib import Path

from hier_keras.presets.files import METADATA_FILE, zoo_entries


def zoo_family(directory) -> str | None:
    """The family name a zoo entry's metadata records (`None` if unreadable)."""
    try:
        with open(Path(directory) / METADATA_FILE) as f:
            return json.load(f).get("family")
    except (OSError, ValueError):
        return None


def list_presets(family=None) -> list[dict]:
    """Rows `{"family", "name", "kind", "description"}`: built-in presets, then zoo entries.

    Args:
        family: a family name or class; `None` lists every family.
    """
    from hier_keras.models.registry import get_family, list_families

    names = list_families() if family is None else [get_family(family).__name__]
    rows = []
    for name in names:
        cls = get_family(name)
        for preset, entry in sorted(cls.presets.items()):
            rows.append({"family": name, "name": preset, "kind": "architecture",
                         "description": entry.get("description", "")})
    for preset, directory in zoo_entries().items():
        fam = zoo_family(directory)
        if fam in names:
            rows.append({"family": fam, "name": preset, "kind": "zoo",
                         "description": str(directory)})
    return rows
