"""keras-tuner search space of `HierarchicalCNN` (Guo et al. 2018 CNN generators).

Searches the head strategy of Table 2 (`head`: coarse_to_fine, fine_to_coarse
or parallel, the three supervised strategies of Sec. 3.1) and `dropout` in
[0, 0.5] (step 0.1).

`hier_keras.tuning` reads `search_space(space, hp)`: `space` draws each
hyperparameter from the keras-tuner `hp` (`space.choice`, `space.linear_float`,
`space.log_float`), so a user's `space={...}` narrowing applies; this module
itself does not import keras-tuner. Learning rate, weight decay and batch size
are searched for every family by `hier_keras.tuning`.
"""


def search_space(space, hp) -> dict:
    """Constructor arguments of one trial, drawn from `hp`."""
    return {"head": space.choice(hp, "head", ["parallel", "coarse_to_fine", "fine_to_coarse"]),
            "dropout": space.linear_float(hp, "dropout", (0.0, 0.5), step=0.1)}
