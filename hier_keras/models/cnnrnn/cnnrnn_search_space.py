"""keras-tuner search space of `CNNRNN` (Guo et al. 2018): label-embedding and LSTM sizes.

The paper uses 1000/1000 (ImageNet, Sec. 4.3) and our CIFAR-100 presets
256/512; the grid runs from the CPU preset's 64/128 up to 1000
(`embedding_dim`, `units`).

`hier_keras.tuning` reads `search_space(space, hp)`: `space` draws each
hyperparameter from the keras-tuner `hp` (`space.choice`, `space.linear_float`,
`space.log_float`), so a user's `space={...}` narrowing applies; this module
itself does not import keras-tuner.
"""


def search_space(space, hp) -> dict:
    """Constructor arguments of one trial, drawn from `hp`."""
    return {"embedding_dim": space.choice(hp, "embedding_dim", [64, 128, 256, 512, 1000],
                                          default=64),
            "units": space.choice(hp, "units", [128, 256, 512, 1000], default=128)}
