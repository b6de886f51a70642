"""The training config every preset carries, typed, and the optimizer it builds.

A preset's `training_config` is plain JSON data (it is stored in the model's
config); `TrainingConfig.from_dict` checks its keys and types once, and
`make_optimizer` turns it into a Keras optimizer with its learning-rate
schedule. `HierarchicalModel.compile()` calls `make_optimizer`; the CLI and the
tuner read `batch_size`, `epochs`, `augment`, `padding` and
`reduce_lr_on_plateau` through `TrainingConfig` too.

Example:

>>> cfg = TrainingConfig.from_dict({"optimizer": "adam", "learning_rate": 2e-3})
>>> cfg.optimizer, cfg.batch_size
('adam', 128)
>>> type(make_optimizer(cfg)).__name__
'Adam'
>>> TrainingConfig.from_dict({"learning_rte": 0.1})
Traceback (most recent call last):
...
ValueError: Unknown training_config key 'learning_rte' (did you mean 'learning_rate'?); known keys: ['augment', 'batch_size', 'epochs', 'learning_rate', 'momentum', 'nesterov', 'optimizer', 'padding', 'reduce_lr_on_plateau', 'schedule', 'steps', 'weight_decay'].
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings

import keras

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "piecewise")


@dataclasses.dataclass
class TrainingConfig:
    """How a preset trains (see `HierarchicalModel`'s `training_config`).

    Attributes:
        optimizer: `"sgd"`, `"adam"` or `"adamw"`.
        learning_rate: peak rate. Defaults to 0.05 for SGD, 1e-3 otherwise.
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
        weight_decay: decoupled weight decay (`None`: none; AdamW: 1e-4).
        schedule: `{"type": "constant"}`, `{"type": "cosine", "alpha": 0}` or
            `{"type": "piecewise", "boundaries": [...], "factor": 0.1}`
            (or explicit `"values"`).
        batch_size: training batch size.
        epochs: default number of epochs (`hier-keras train`).
        steps: the paper's number of iterations (GPU-scale presets).
        augment: pad-crop-flip augmentation in `hk.data`.
        padding: `"zero"` or `"reflect"` padding for the crops.
        reduce_lr_on_plateau: `ReduceLROnPlateau` arguments
            (`hk.training.plateau_callback`), or `None`.
    """

    optimizer: str = "sgd"
    learning_rate: float | None = None
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float | None = None
    schedule: dict = dataclasses.field(default_factory=lambda: {"type": "constant"})
    batch_size: int = 128
    epochs: int | None = None
    steps: int | None = None
    augment: bool = True
    padding: str = "zero"
    reduce_lr_on_plateau: dict | None = None

    def __post_init__(self):
        self.optimizer = str(self.optimizer).lower()
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}: use one of {OPTIMIZERS}.")
        if self.learning_rate is None:
            self.learning_rate = 0.05 if self.optimizer == "sgd" else 1e-3
        self.learning_rate = float(self.learning_rate)
        self.schedule = dict(self.schedule or {"type": "constant"})
        kind = self.schedule.get("type", "constant")
        if kind not in SCHEDULES:
            raise ValueError(f"Unknown schedule type {kind!r}: use one of {SCHEDULES}.")
        if kind == "piecewise" and "boundaries" not in self.schedule:
            raise ValueError("A piecewise schedule needs `boundaries` (optimizer steps).")
        if int(self.batch_size) < 1:
            raise ValueError(f"`batch_size` must be >= 1; received {self.batch_size}.")
        self.batch_size = int(self.batch_size)

    @classmethod
    def from_dict(cls, config) -> "TrainingConfig":
        """Check a `training_config` dict (unknown keys are an error naming the closest key)."""
        if isinstance(config, TrainingConfig):
            return config
        config = dict(config or {})
        known = sorted(f.name for f in dataclasses.fields(cls))
        for key in config:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"Unknown training_config key {key!r}{hint}; known keys: "
                                 f"{known}.")
        return cls(**config)


def make_optimizer(config, total_steps=None):
    """A Keras optimizer from a training config (`TrainingConfig` or its dict).

    Args:
        config: the training config.
        total_steps: the run's optimizer steps; the cosine schedule needs it
            (without it the rate stays constant, with a warning).
    """
    cfg = TrainingConfig.from_dict(config)
    lr = cfg.learning_rate
    schedule = dict(cfg.schedule)
    kind = schedule.pop("type", "constant")
    if kind == "piecewise":
        boundaries = [int(b) for b in schedule["boundaries"]]
        factor = float(schedule.get("factor", 0.1))
        values = schedule.get("values") or [lr * factor**i for i in range(len(boundaries) + 1)]
        lr = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, list(values))
    elif kind == "cosine":
        if total_steps:
            lr = keras.optimizers.schedules.CosineDecay(lr, int(total_steps),
                                                        alpha=float(schedule.get("alpha", 0.0)))
        else:
            warnings.warn(
                "The preset uses a cosine learning-rate schedule but compile() got no "
                "`total_steps`; training at a constant learning rate. Pass "
                "`model.compile(total_steps=epochs * steps_per_epoch)`.",
                stacklevel=3,
            )
    wd = cfg.weight_decay
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=float(cfg.momentum),
                                    nesterov=bool(cfg.nesterov), weight_decay=wd)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(lr, weight_decay=wd)
    return keras.optimizers.AdamW(lr, weight_decay=wd if wd is not None else 1e-4)
