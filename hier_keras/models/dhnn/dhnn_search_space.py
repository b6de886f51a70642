"""keras-tuner search space of `DHNN` (Koo et al. 2018): converter and RNN / S2S sizes.

Searches the converter type of Sec. 3.3 (`converter`: linear mode product,
convolutional, pooling) and the sizes: RNN input size p (`input_dim`) and
hidden size (`units`), the paper's 256/512, 512/512 and large 2048/1024 and
the CPU presets' 128/128. The search starts from the CNN-S2S CPU preset
(`DEFAULT_PRESET`), where the converter applies.

`hier_keras.tuning` reads `search_space(space, hp)`: `space` draws each
hyperparameter from the keras-tuner `hp` (`space.choice`, `space.linear_float`,
`space.log_float`), so a user's `space={...}` narrowing applies; this module
itself does not import keras-tuner.
"""

#: The preset searched when none is given (families without it: `small_fashion_mnist`).
DEFAULT_PRESET = "small_s2s_fashion_mnist"


def search_space(space, hp) -> dict:
    """Constructor arguments of one trial, drawn from `hp`."""
    return {"converter": space.choice(hp, "converter", ["pool", "linear", "conv"]),
            "input_dim": space.choice(hp, "input_dim", [128, 256, 512, 2048], default=128),
            "units": space.choice(hp, "units", [128, 512, 1024], default=128)}
