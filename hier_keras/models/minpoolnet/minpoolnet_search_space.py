"""keras-tuner search space of `MinPoolNet`: lambda of eq. 7 (`coarse_loss_weight`).

Fig. 5 sweeps lambda and finds 1 best; its axis is not in the surviving text,
so the grid is log-symmetric around 1 (0.25 .. 4).

`hier_keras.tuning` reads `search_space(space, hp)`: `space` draws each
hyperparameter from the keras-tuner `hp` (`space.choice`, `space.linear_float`,
`space.log_float`), so a user's `space={...}` narrowing applies; this module
itself does not import keras-tuner.
"""


def search_space(space, hp) -> dict:
    """Constructor arguments of one trial, drawn from `hp`."""
    return {"coarse_loss_weight": space.choice(hp, "coarse_loss_weight",
                                               [0.25, 0.5, 1.0, 2.0, 4.0], default=1.0)}
