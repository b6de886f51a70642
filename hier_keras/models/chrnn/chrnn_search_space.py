"""keras-tuner search space of `CHRNN` (Zuo et al. 2016): cell, links, units and dropout.

Searches the recurrent cell and cross-scale links (`variant`: the C-HLSTM,
C-HSRN, C-MLSTM and C-MSRN variants of Table II), the RNN units (256 in the
paper; the CPU preset uses the 64-channel map) and the RNN dropout (0.5 in
the paper; 0 .. 0.5 in steps of 0.25).

`hier_keras.tuning` reads `search_space(space, hp)`: `space` draws each
hyperparameter from the keras-tuner `hp` (`space.choice`, `space.linear_float`,
`space.log_float`), so a user's `space={...}` narrowing applies; this module
itself does not import keras-tuner.
"""


def search_space(space, hp) -> dict:
    """Constructor arguments of one trial, drawn from `hp`."""
    return {"variant": space.choice(hp, "variant", ["c_hlstm", "c_hsrn", "c_mlstm", "c_msrn"]),
            "units": space.choice(hp, "units", [64, 128, 256], default=64),
            "rnn_dropout": space.linear_float(hp, "rnn_dropout", (0.0, 0.5), step=0.25,
                                              default=0.25)}
