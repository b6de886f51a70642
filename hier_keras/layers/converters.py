"""Converters: CNN feature maps of any size -> vectors of one fixed size `p`.

Koo, Klabjan, Utke (2018), "Combined Convolutional and Recurrent Neural
Networks for Hierarchical Classification of Images", Sec. 3.3 and
Appendices A and B. DHNN feeds features tapped at several backbone stages to
an RNN whose input size is fixed; a converter `g(a_s; alpha_s)` maps the
stage-`s` map `a_s` (depth D, width W, height H) to `R^p`:

- `ModeProductConverter(m, n, v)`: the linear conversion
  `vec(a_s x1 U1 x2 U2 x3 U3)`, `U1 in R^{m x D}`, `U2 in R^{n x W}`,
  `U3 in R^{v x H}`, `p = m * n * v`; three small einsums, `m*D + n*W + v*H`
  parameters (never one giant dense layer).
- `ConvConverter(p)`: `vec(Conv(a_s))` with filter size, stride, zero
  padding and number of filters chosen by Appendix A
  (`conv_conversion_choices`); a clear error when no choice gives `p`.
- `PoolConverter(p)`: `vec(Pool(a_s) x1 U1 x2 U2 x3 U3)` with disjoint
  pooling (filter = stride) chosen by Appendix B (`pool_conversion_choices`).
  When Appendix B admits a pooling with `D * W/F * H/F = p` exactly, the
  mode product is left out (the paper: "does not require additional
  weights"); otherwise the pooled map goes through a mode product to `p`.

Keras feature maps are `(batch, H, W, D)`; the paper's modes 1, 2, 3 are
depth, width and height, and `vec` flattens the `(m, n, v)` result row-major.

Example:

>>> import numpy as np
>>> g = ModeProductConverter(4, 2, 2)
>>> tuple(g(np.ones((3, 7, 7, 16), "float32")).shape), g.count_params()  # 4*16 + 2*7 + 2*7
((3, 16), 92)
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops


# ===================================================================== solvers
def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def mode_shape_for(p, input_dims):
    """The `(m, n, v)` with `m * n * v = p` closest to `(D, W, H)` (squared log ratios).

    Ties go to `n == v` (square maps stay square), then to the larger `m`.

    Args:
        p: int, the target size.
        input_dims: `(D, W, H)` of the map being converted.

    Example:

    >>> mode_shape_for(64, (32, 2, 2))
    (16, 2, 2)
    """
    p = int(p)
    if p < 1:
        raise ValueError(f"The converter output size `p` must be >= 1; received {p}.")
    d, w, h = (max(int(x), 1) for x in input_dims)
    best = None
    for m in _divisors(p):
        for n in _divisors(p // m):
            v = p // m // n
            cost = (math.log(m / d) ** 2 + math.log(n / w) ** 2 + math.log(v / h) ** 2)
            key = (round(cost, 9), n != v, -m)
            if best is None or key < best[0]:
                best = (key, (m, n, v))
    return best[1]


def _out_size(size, f, g, z):
    """`(size - F + 2Z) / G + 1` when it is a positive integer, else None."""
    num = size - f + 2 * z
    if num < 0 or num % g:
        return None
    return num // g + 1


def conv_conversion_choices(width, height, p, depth=None, filter_size=None, strides=None,
                            padding=None, filters=None, max_padding=None):
    """Every convolution (Appendix A of Koo et al. 2018) whose output has `p` values.

    `K * W_out * H_out = p` with `W_out = (W - F + 2Z) / G + 1` (an integer,
    and the same for H). The paper's four cases:

    1. `F = W = H`: `Z = 0`, `K = p` (a 1x1 output; stride irrelevant, 1 here);
    2. `F = G < W`: `Z` such that `(W + 2Z) / F` is an integer;
    3. `G = 1`, `F < W`: `Z = 0`;
    4. `1 < G < F < W`: `Z` such that the output size is an integer;

    and `K = p / (W_out * H_out)` must be an integer. Padding is bounded by
    `max_padding` (default `F // 2`, at most a "same" padding). On a
    rectangular map, F may reach the shorter side. Any of
    `filter_size`, `strides`, `padding`, `filters` may be pinned.

    Args:
        width, height: spatial size of the map (the paper assumes a square;
            a rectangle uses the same F, G, Z on both axes).
        p: int, the target size.
        depth: D of the map; only used to rank the choices.

    Returns:
        A list of dicts `{case, filter_size, strides, padding, filters,
        output_shape (H_out, W_out, K), params}` (params with depth given,
        else None), best first: filters closest to the input depth (log
        ratio), then the larger spatial output (keeps spatial information),
        then fewer parameters, then less padding. Empty when nothing fits.

    Example:

    >>> best = conv_conversion_choices(8, 8, 256, depth=16)[0]
    >>> best["case"], best["filter_size"], best["strides"], best["filters"], best["output_shape"]
    (2, 2, 2, 16, (4, 4, 16))
    """
    w, h, p = int(width), int(height), int(p)
    if p < 1:
        raise ValueError(f"The converter output size `p` must be >= 1; received {p}.")
    out = []
    for f in range(1, min(w, h) + 1):
        if filter_size is not None and f != int(filter_size):
            continue
        if f == w == h:
            geoms = [(1, 1, 0)]
        elif f > min(w, h):
            continue
        else:
            geoms = [(2, f, z) for z in range(0, (max_padding if max_padding is not None else f // 2) + 1)]
            if f > 1:
                geoms.append((3, 1, 0))
            geoms += [(4, g, z) for g in range(2, f)
                      for z in range(0, (max_padding if max_padding is not None else f // 2) + 1)]
        for case, g, z in geoms:
            if strides is not None and g != int(strides) and not (case == 1 and int(strides) >= 1):
                continue
            if padding is not None and z != int(padding):
                continue
            ow, oh = _out_size(w, f, g, z), _out_size(h, f, g, z)
            if ow is None or oh is None or p % (ow * oh):
                continue
            k = p // (ow * oh)
            if filters is not None and k != int(filters):
                continue
            params = None if depth is None else f * f * int(depth) * k + k
            out.append({"case": case, "filter_size": f,
                        "strides": int(strides) if case == 1 and strides is not None else g,
                        "padding": z, "filters": k, "output_shape": (oh, ow, k),
                        "params": params})
    d = int(depth) if depth else None

    def rank(c):
        closeness = abs(math.log(c["filters"] / d)) if d else 0.0
        return (round(closeness, 9), -(c["output_shape"][0] * c["output_shape"][1]),
                c["params"] or 0, c["padding"], c["filter_size"])

    return sorted(out, key=rank)


def pool_conversion_choices(depth, width, height, p):
    """Disjoint poolings (Appendix B of Koo et al. 2018) giving exactly `p` values.

    With filter = stride = F (disjoint pooling), `W_pool = W / F` and
    `H_pool = H / F` (F must divide both) and `D_pool = D`; a choice is
    admissible when `D * W/F * H/F = p`.

    Returns:
        The admissible pool sizes F, smallest first (most spatial
        information); empty when none.

    Example:

    >>> pool_conversion_choices(16, 8, 8, 256), pool_conversion_choices(16, 8, 8, 100)
    ([2], [])
    """
    d, w, h, p = int(depth), int(width), int(height), int(p)
    return [f for f in range(1, min(w, h) + 1)
            if w % f == 0 and h % f == 0 and d * (w // f) * (h // f) == p]


def _pool_sizes(depth, width, height):
    """`{F: pooled size}` for every disjoint pooling F of the map."""
    return {f: depth * (width // f) * (height // f)
            for f in range(1, min(width, height) + 1) if width % f == 0 and height % f == 0}


def _check_map_shape(input_shape, who):
    if len(input_shape) != 4 or any(d is None for d in input_shape[1:]):
        raise ValueError(
            f"{who} converts (batch, height, width, depth) feature maps with known sizes; "
            f"received shape {tuple(input_shape)}. Tap a convolutional stage, not a vector."
        )
    return int(input_shape[1]), int(input_shape[2]), int(input_shape[3])


# ===================================================================== layers
@keras.saving.register_keras_serializable(package="hier_keras")
class ModeProductConverter(layers.Layer):
    """Linear conversion `vec(a x1 U1 x2 U2 x3 U3)` (Koo et al. 2018, Sec. 3.3).

    `U1 in R^{m x D}` acts on depth, `U2 in R^{n x W}` on width,
    `U3 in R^{v x H}` on height; the output has `p = m * n * v` values and
    the layer `m*D + n*W + v*H` parameters (no bias, as in the paper).
    Computed as three einsums, one mode product each.

    Args:
        m: int. Output size of the depth mode.
        n: int. Output size of the width mode.
        v: int. Output size of the height mode.
        kernel_initializer: initializer of U1, U2, U3. Defaults to
            `"glorot_uniform"`.

    Call arguments:
        inputs: `(batch, H, W, D)` feature map.

    Returns:
        `(batch, m * n * v)`, the `(m, n, v)` tensor flattened row-major.

    Example:

    >>> import numpy as np
    >>> g = ModeProductConverter(8, 4, 4)
    >>> tuple(g(np.zeros((2, 14, 14, 32), "float32")).shape)
    (2, 128)
    """

    def __init__(self, m, n, v, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.m, self.n, self.v = int(m), int(n), int(v)
        if min(self.m, self.n, self.v) < 1:
            raise ValueError(f"`m`, `n`, `v` must be >= 1; received {(m, n, v)}.")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    @property
    def output_dim(self) -> int:
        return self.m * self.n * self.v

    def build(self, input_shape):
        h, w, d = _check_map_shape(input_shape, "ModeProductConverter")
        init = self.kernel_initializer
        self.u1 = self.add_weight(shape=(self.m, d), initializer=init, name="u1_depth")
        self.u2 = self.add_weight(shape=(self.n, w), initializer=init, name="u2_width")
        self.u3 = self.add_weight(shape=(self.v, h), initializer=init, name="u3_height")

    def call(self, inputs):
        x = ops.einsum("bhwd,md->bhwm", inputs, ops.cast(self.u1, inputs.dtype))
        x = ops.einsum("bhwm,nw->bhnm", x, ops.cast(self.u2, inputs.dtype))
        x = ops.einsum("bhnm,vh->bmnv", x, ops.cast(self.u3, inputs.dtype))
        return ops.reshape(x, (-1, self.output_dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(m=self.m, n=self.n, v=self.v,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return config


@keras.saving.register_keras_serializable(package="hier_keras")
class ConvConverter(layers.Layer):
    """Convolutional conversion `vec(Conv(a))` to `p` values (Koo et al. 2018, App. A).

    On build, `conv_conversion_choices` lists every filter size F, stride
    G, zero padding Z and filter count K of the paper's four cases with
    `K * W_out * H_out = p`, and the best-ranked one is used (see that
    function for the ranking). Pin any of them to restrict the choice; when
    nothing fits, building raises a `ValueError` that names the map, `p`,
    the pins and the admissible sizes nearby.

    Args:
        p: int. Output size.
        filter_size, strides, padding, filters: optional ints pinning F, G,
            Z, K.
        max_padding: optional int bound on Z. Defaults to `F // 2`.
        kernel_initializer: conv kernel initializer. Defaults to `"he_normal"`.

    Attributes:
        choice: the dict of the chosen convolution (after build).

    Example:

    >>> import numpy as np
    >>> g = ConvConverter(256)
    >>> tuple(g(np.zeros((2, 8, 8, 16), "float32")).shape), g.choice["filter_size"]
    ((2, 256), 2)
    """

    def __init__(self, p, filter_size=None, strides=None, padding=None, filters=None,
                 max_padding=None, kernel_initializer="he_normal", **kwargs):
        super().__init__(**kwargs)
        self.p = int(p)
        self.filter_size = filter_size
        self.strides = strides
        self.padding = padding
        self.filters = filters
        self.max_padding = max_padding
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.choice = None

    @property
    def output_dim(self) -> int:
        return self.p

    def build(self, input_shape):
        h, w, d = _check_map_shape(input_shape, "ConvConverter")
        pins = dict(filter_size=self.filter_size, strides=self.strides, padding=self.padding,
                    filters=self.filters, max_padding=self.max_padding)
        choices = conv_conversion_choices(w, h, self.p, depth=d, **pins)
        if not choices:
            raise ValueError(self._no_choice_message(h, w, d, pins))
        self.choice = choices[0]
        c = self.choice
        self.conv = layers.Conv2D(c["filters"], c["filter_size"], strides=c["strides"],
                                  padding="valid", kernel_initializer=self.kernel_initializer,
                                  name="conv", dtype=self.dtype_policy)
        z = c["padding"]
        self.conv.build((input_shape[0], h + 2 * z, w + 2 * z, d))

    def _no_choice_message(self, h, w, d, pins):
        set_pins = {k: v for k, v in pins.items() if v is not None}
        nearby = set()
        for q in range(max(1, self.p // 2), 2 * self.p + 1):
            if conv_conversion_choices(w, h, q, depth=d, **pins):
                nearby.add(q)
            if len(nearby) >= 8 and q > self.p:
                break
        near = sorted(nearby, key=lambda q: (abs(q - self.p), q))[:6]
        return (
            f"ConvConverter: no convolution maps a {h}x{w}x{d} (HxWxD) feature map to p={self.p} "
            f"values (Koo et al. 2018, Appendix A: K * W_out * H_out = p with integer sizes)"
            + (f" with {set_pins}" if set_pins else "") + ". "
            + (f"Admissible p near {self.p}: {sorted(near)}. " if near else "")
            + "Fix: choose an admissible p, unpin filter_size/strides/padding/filters, raise "
            "max_padding, or use converter='pool' / 'linear' (any p)."
        )

    def call(self, inputs):
        z = self.choice["padding"]
        if z:
            inputs = ops.pad(inputs, [[0, 0], [z, z], [z, z], [0, 0]])
        return ops.reshape(self.conv(inputs), (-1, self.p))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.p)

    def get_config(self):
        config = super().get_config()
        config.update(p=self.p, filter_size=self.filter_size, strides=self.strides,
                      padding=self.padding, filters=self.filters, max_padding=self.max_padding,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return config


@keras.saving.register_keras_serializable(package="hier_keras")
class PoolConverter(layers.Layer):
    """Pooling conversion `vec(Pool(a) x1 U1 x2 U2 x3 U3)` (Koo et al. 2018, App. B).

    Disjoint pooling (filter = stride = F, F divides W and H) then, when
    needed, a mode product to `p` values:

    - `pool_size=None`: Appendix B's admissible F (`D * W/F * H/F = p`,
      smallest F first) when one exists, and then no mode product (no
      weights, the paper's point); otherwise the F whose pooled size is
      closest to `p` (log ratio; ties to the smaller F) followed by a
      `ModeProductConverter` with the `(m, n, v)` of `mode_shape_for`.
    - `mode_product`: `"auto"` (as above), `True` (always apply one, as in
      the formula of Sec. 3.3), or `False` (never: building raises a clear
      error when no disjoint pooling gives exactly `p`).

    Args:
        p: int. Output size.
        pool_size: optional int F (must divide W and H).
        pooling: `"max"` or `"average"`. The paper does not say; defaults to
            `"max"` (VGG's and ResNet's pooling).
        mode_product: `"auto"`, `True` or `False`. Defaults to `"auto"`.

    Attributes:
        choice: dict `{pool_size, pooled_shape, mode_shape}` (after build;
            `mode_shape` None when no mode product is applied).

    Example:

    >>> import numpy as np
    >>> g = PoolConverter(256)
    >>> tuple(g(np.zeros((2, 8, 8, 16), "float32")).shape), g.choice["pool_size"], g.count_params()
    ((2, 256), 2, 0)
    """

    def __init__(self, p, pool_size=None, pooling="max", mode_product="auto", **kwargs):
        super().__init__(**kwargs)
        if pooling not in ("max", "average"):
            raise ValueError(f"`pooling` must be 'max' or 'average'; received {pooling!r}.")
        if mode_product not in ("auto", True, False):
            raise ValueError(f"`mode_product` must be 'auto', True or False; received {mode_product!r}.")
        self.p = int(p)
        self.pool_size = pool_size
        self.pooling = pooling
        self.mode_product = mode_product
        self.choice = None
        self.projection = None

    @property
    def output_dim(self) -> int:
        return self.p

    def build(self, input_shape):
        h, w, d = _check_map_shape(input_shape, "PoolConverter")
        sizes = _pool_sizes(d, w, h)
        if self.pool_size is not None:
            f = int(self.pool_size)
            if f not in sizes:
                raise ValueError(
                    f"PoolConverter: pool_size={f} does not tile a {h}x{w} map disjointly "
                    f"(Appendix B needs F dividing W and H). Use one of {sorted(sizes)}.")
        else:
            exact = pool_conversion_choices(d, w, h, self.p)
            if exact:
                f = exact[0]
            else:
                f = min(sizes, key=lambda k: (round(abs(math.log(sizes[k] / self.p)), 9), k))
        pooled = (h // f, w // f, d)
        use_mp = self.mode_product is True or sizes[f] != self.p
        if use_mp and self.mode_product is False:
            admissible = sorted(set(sizes.values()))
            raise ValueError(
                f"PoolConverter: no disjoint pooling of a {h}x{w}x{d} (HxWxD) map gives exactly "
                f"p={self.p} values (Koo et al. 2018, Appendix B: D * W/F * H/F = p)"
                + (f" with pool_size={self.pool_size}" if self.pool_size is not None else "")
                + f". Admissible p: {admissible}. Fix: choose one of them, or allow the mode "
                "product (mode_product='auto') to map the pooled map to p.")
        self.pooler = (layers.MaxPooling2D if self.pooling == "max" else layers.AveragePooling2D)(
            f, strides=f, name="pool", dtype=self.dtype_policy)
        mode_shape = None
        if use_mp:
            mode_shape = mode_shape_for(self.p, (d, pooled[1], pooled[0]))
            self.projection = ModeProductConverter(*mode_shape, name="mode_product",
                                                   dtype=self.dtype_policy)
            self.projection.build((input_shape[0],) + pooled)
        self.choice = {"pool_size": f, "pooled_shape": pooled, "mode_shape": mode_shape}

    def call(self, inputs):
        x = self.pooler(inputs)
        if self.projection is not None:
            return self.projection(x)
        return ops.reshape(x, (-1, self.p))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.p)

    def get_config(self):
        config = super().get_config()
        config.update(p=self.p, pool_size=self.pool_size, pooling=self.pooling,
                      mode_product=self.mode_product)
        return config


CONVERTERS = ("linear", "conv", "pool")


def make_converter(kind, p, input_shape=None, name=None, **kwargs):
    """A converter by name: `"linear"` (mode product), `"conv"` or `"pool"`, output size `p`.

    For `"linear"`, `(m, n, v)` come from `kwargs["mode_shape"]` or
    `mode_shape_for(p, (D, W, H))` of the `(batch, H, W, D)` `input_shape`.

    Example:

    >>> make_converter("linear", 64, (None, 7, 7, 32)).m
    16
    """
    if kind == "linear":
        shape = kwargs.pop("mode_shape", None)
        if shape is None:
            if input_shape is None:
                raise ValueError("A linear converter needs `input_shape` or `mode_shape`.")
            h, w, d = _check_map_shape(input_shape, "ModeProductConverter")
            shape = mode_shape_for(p, (d, w, h))
        if int(shape[0]) * int(shape[1]) * int(shape[2]) != int(p):
            raise ValueError(f"`mode_shape` {tuple(shape)} does not multiply to p={p}.")
        return ModeProductConverter(*shape, name=name, **kwargs)
    if kind == "conv":
        return ConvConverter(p, name=name, **kwargs)
    if kind == "pool":
        return PoolConverter(p, name=name, **kwargs)
    raise ValueError(f"Unknown converter {kind!r}; choose one of {CONVERTERS}.")
