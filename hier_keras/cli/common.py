"""What every `hier-keras` command shares: the demo defaults, family and preset lookup."""

from __future__ import annotations

DEMO_FAMILY = "CNNRNN"
DEMO_PRESET = "small_fashion_mnist"
# The demo's budget: about this many training images seen (2 epochs of the full set,
# 12 of the bundled subset), which fits in 5 minutes on a 2-core CPU.
DEMO_IMAGES = 120_000


def _get_family(name):
    """The family class of `--family`; an unknown name exits with the registry's one-line
    message (it names the closest family)."""
    from hier_keras.models import get_family

    try:
        return get_family(name)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def _load(preset, family=None):
    """The model of a preset argument: with `--family`, `Family.from_preset` (built-in
    name, zoo entry or directory); without, a directory or zoo entry of any family
    (`hier_keras.presets.load_preset`). A preset that does not load exits with one line."""
    from hier_keras import presets

    if family:
        cls = _get_family(family)
        try:
            return cls.from_preset(preset)
        except ValueError as err:  # not a preset of that family, or a corrupted directory
            raise SystemExit(str(err)) from None
    try:
        _, directory = presets.resolve_preset(None, preset)
    except ValueError:
        raise SystemExit(f"{preset!r} is neither a preset directory nor a zoo entry; "
                         "pass --family to build a built-in preset.") from None
    try:
        return presets.load_preset(directory)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def _format_results(results):
    row = results.iloc[0] if hasattr(results, "iloc") else results
    lines = ["", "metric                 value", "-----------------------------"]
    for key, value in dict(row).items():
        lines.append(f"{key:<22} {100 * value:6.2f} %" if key != "mistake_severity" and value <= 1
                     else f"{key:<22} {value:8.3f}")
    return "\n".join(lines)
