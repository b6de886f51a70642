"""keras-tuner search space of `MergedCNN` (Dutt et al. 2017): merge point and dropout.

Searches the topologies of Fig. 2 / Fig. 3 (`topology`: merge-0 ..
merge-<stages>, merge-1 and merge-2 best there; the number of stages comes
from the backbone the trials are built on) and `dropout` in [0, 0.5].

`hier_keras.tuning` reads `search_space(space, hp)`: `space` draws each
hyperparameter from the keras-tuner `hp` (`space.choice`, `space.linear_float`,
`space.log_float`) and `space.config` is the constructor config the trials
start from (the preset's, with the fixed overrides); this module itself does
not import keras-tuner.

Example:

>>> backbone_stages({"backbone": "small"})
3
>>> backbone_stages({"backbone": {"class_name": "Backbone",
...                               "config": {"architecture": "densenet100_bc"}}})
3
"""

from hier_keras.backbones import get_backbone_spec


def backbone_stages(config) -> int:
    """Stages of the backbone a MergedCNN config builds on.

    `config["backbone"]` is a registered name (default `"small"`), a serialized
    backbone (`{"class_name": "Backbone", "config": {"architecture": ...}}`, what
    saved presets hold) or a `Backbone`; `config["backbone_kwargs"]` updates its
    builder arguments, as in `hk.backbones.get_backbone`.
    """
    backbone = config.get("backbone", "small")
    kwargs = dict(config.get("backbone_kwargs") or {})
    if hasattr(backbone, "num_stages"):  # a built `Backbone`
        return int(backbone.num_stages)
    if isinstance(backbone, dict):
        inner = backbone.get("config", backbone)
        kwargs = {**dict(inner.get("architecture_kwargs") or {}), **kwargs}
        backbone = inner["architecture"]
    return get_backbone_spec(backbone, **kwargs).num_stages


def search_space(space, hp) -> dict:
    """Constructor arguments of one trial, drawn from `hp`."""
    stages = backbone_stages(space.config)
    return {"topology": space.choice(hp, "topology", [f"merge-{k}" for k in range(stages + 1)],
                                     default="merge-1"),
            "dropout": space.linear_float(hp, "dropout", (0.0, 0.5), step=0.1)}
