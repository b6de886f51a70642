"""Global contrast normalisation (GCN) and ZCA whitening, fitted on the train split.

The min-pooling paper (Sec. V-B) preprocesses CIFAR-100
"with global contrast normalization and ZCA whitening as in [20], [8]" (the
maxout and NIN papers, which use pylearn2). We follow pylearn2's recipe:

- GCN per image: subtract the image's mean, then divide by
  `sqrt(sqrt_bias + sum(x^2)) / scale` (`scale` 55, `sqrt_bias` 0; a divisor
  below `min_divisor` is replaced by 1);
- ZCA on the GCN'd train images: `P = V diag(1 / sqrt(e + filter_bias)) V^T`
  from the eigen-decomposition `V diag(e) V^T` of their covariance
  (`filter_bias` 0.1); an image becomes `(x - mean) P`.

A fitted :class:`Whitening` serialises to a JSON-ready dict (`to_config`;
arrays as base64 float32), which models that take a `whitening=` argument
(MinPoolNet) keep in their config, so the parameters travel in the preset's
`config.json` and exported models whiten raw images themselves.

Example:

>>> import numpy as np
>>> x = np.random.default_rng(0).uniform(0, 255, (200, 4, 4, 1))
>>> w = fit_whitening(x)
>>> z = w.transform(x)
>>> z.shape, bool(abs(np.cov(z.reshape(200, -1), rowvar=False)[0, 1]) < 0.1)
((200, 4, 4, 1), True)
>>> Whitening.from_config(w.to_config()).transform(x[:2]).shape
(2, 4, 4, 1)
"""

from __future__ import annotations

import base64
import dataclasses

import numpy as np

#: The paper's (pylearn2's) settings for CIFAR.
PAPER_WHITENING = {"gcn": True, "scale": 55.0, "sqrt_bias": 0.0, "min_divisor": 1e-8,
                   "zca": True, "filter_bias": 0.1}


def global_contrast_normalize(images, scale=55.0, sqrt_bias=0.0, min_divisor=1e-8):
    """Per-image GCN (pylearn2 `global_contrast_normalize`, `use_std=False`).

    Args:
        images: array `(N, ...)`; each image is flattened.
        scale: the norm each centred image ends with.
        sqrt_bias: added under the square root (regularises flat images).
        min_divisor: divisors below it are replaced by 1.

    Returns:
        float32 array of the input's shape.
    """
    x = np.asarray(images, np.float64)
    flat = x.reshape(len(x), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norm = np.sqrt(sqrt_bias + np.sum(flat**2, axis=1, keepdims=True)) / scale
    norm[norm < min_divisor] = 1.0
    return (flat / norm).reshape(x.shape).astype(np.float32)


@dataclasses.dataclass
class Whitening:
    """GCN and/or ZCA parameters (see the module docstring).

    Attributes:
        gcn: apply global contrast normalisation first.
        scale, sqrt_bias, min_divisor: GCN settings.
        zca: apply ZCA whitening (needs `fit`).
        filter_bias: added to the covariance eigenvalues.
        mean: `(D,)` ZCA mean of the (GCN'd) train images, once fitted.
        matrix: `(D, D)` ZCA matrix, once fitted.
        input_shape: `(H, W, C)` the parameters were fitted for.
    """

    gcn: bool = True
    scale: float = 55.0
    sqrt_bias: float = 0.0
    min_divisor: float = 1e-8
    zca: bool = True
    filter_bias: float = 0.1
    mean: np.ndarray | None = None
    matrix: np.ndarray | None = None
    input_shape: tuple | None = None

    @property
    def fitted(self) -> bool:
        """True when every step it applies has its parameters."""
        return not self.zca or self.matrix is not None

    def fit(self, images, max_images=None, seed=0):
        """Fit the ZCA parameters on train images `(N, H, W, C)` (raw pixels).

        Args:
            images: the train split (never the test split).
            max_images: fit on a random subset of this many images (the
                covariance of 3072-dim CIFAR images needs ~10k images).
            seed: seed of that subset.

        Returns:
            `self`.
        """
        x = np.asarray(images)
        if x.ndim != 4:
            raise ValueError(
                f"fit() needs images shaped (N, height, width, channels); received {x.shape}."
            )
        self.input_shape = tuple(int(d) for d in x.shape[1:])
        if max_images and len(x) > max_images:
            x = x[np.random.default_rng(seed).choice(len(x), max_images, replace=False)]
        if not self.zca:
            return self
        flat = self._gcn(x).reshape(len(x), -1).astype(np.float64)
        dim = flat.shape[1]
        if len(flat) < 2:
            raise ValueError("ZCA needs at least two images to estimate a covariance.")
        mean = flat.mean(axis=0)
        flat -= mean
        cov = flat.T @ flat / len(flat) + self.filter_bias * np.eye(dim)
        eigvals, eigvecs = np.linalg.eigh(cov)
        eigvals = np.maximum(eigvals, 1e-12)
        self.mean = mean.astype(np.float32)
        self.matrix = ((eigvecs / np.sqrt(eigvals)) @ eigvecs.T).astype(np.float32)
        return self

    def _gcn(self, x):
        if not self.gcn:
            return np.asarray(x, np.float32)
        return global_contrast_normalize(x, self.scale, self.sqrt_bias, self.min_divisor)

    def transform(self, images) -> np.ndarray:
        """Whiten a batch `(N, H, W, C)` of raw images (NumPy; models do it in-graph)."""
        self.check_fitted()
        x = np.asarray(images)
        self.check_shape(x.shape[1:])
        x = self._gcn(x)
        if self.zca:
            x = ((x.reshape(len(x), -1) - self.mean) @ self.matrix).reshape(x.shape)
        return x.astype(np.float32)

    def check_fitted(self):
        if not self.fitted:
            raise ValueError(
                "This Whitening requests ZCA but is not fitted. Fit it on the train split: "
                "`hk.data.whitening.fit_whitening(x_train)` (or `whitening.fit(x_train)`)."
            )

    def check_shape(self, image_shape):
        if self.input_shape is not None and tuple(image_shape) != tuple(self.input_shape):
            raise ValueError(
                f"This Whitening was fitted on images of shape {tuple(self.input_shape)}; "
                f"received images of shape {tuple(image_shape)}. Refit it on train images "
                "of the model's input shape."
            )

    # ------------------------------------------------------------ config
    def to_config(self) -> dict:
        """JSON-ready dict (arrays as base64 float32)."""
        return {
            "gcn": bool(self.gcn), "scale": float(self.scale), "sqrt_bias": float(self.sqrt_bias),
            "min_divisor": float(self.min_divisor), "zca": bool(self.zca),
            "filter_bias": float(self.filter_bias),
            "mean": encode_array(self.mean), "matrix": encode_array(self.matrix),
            "input_shape": list(self.input_shape) if self.input_shape is not None else None,
        }

    @classmethod
    def from_config(cls, config) -> "Whitening":
        """Inverse of `to_config`; also accepts a `Whitening` (returned as is)."""
        if isinstance(config, cls):
            return config
        if not isinstance(config, dict):
            raise ValueError(
                f"`whitening` must be a Whitening or its `to_config()` dict; received "
                f"{type(config).__name__}."
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(config) - known
        if unknown:
            raise ValueError(
                f"Unknown whitening settings {sorted(unknown)}; the settings are {sorted(known)}."
            )
        cfg = dict(config)
        cfg["mean"] = decode_array(cfg.get("mean"))
        cfg["matrix"] = decode_array(cfg.get("matrix"))
        if cfg.get("input_shape") is not None:
            cfg["input_shape"] = tuple(int(d) for d in cfg["input_shape"])
        return cls(**cfg)


def fit_whitening(images, max_images=None, seed=0, **settings) -> Whitening:
    """A :class:`Whitening` fitted on train images (defaults: the paper's GCN + ZCA).

    Args:
        images: train images `(N, H, W, C)`, raw pixels.
        max_images, seed: fit on a random subset (see `Whitening.fit`).
        **settings: `gcn`, `scale`, `sqrt_bias`, `min_divisor`, `zca`,
            `filter_bias` (defaults: `PAPER_WHITENING`).
    """
    return Whitening(**{**PAPER_WHITENING, **settings}).fit(images, max_images, seed)


def encode_array(arr):
    """`{"shape", "dtype": "float32", "base64"}` or None."""
    if arr is None:
        return None
    arr = np.ascontiguousarray(np.asarray(arr, "<f4"))
    return {"shape": list(arr.shape), "dtype": "float32",
            "base64": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_array(obj):
    """Inverse of `encode_array` (also passes arrays and None through)."""
    if obj is None or isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, dict) and "base64" in obj:
        data = np.frombuffer(base64.b64decode(obj["base64"]), "<f4")
        return data.reshape(obj["shape"]).astype(np.float32)
    return np.asarray(obj, np.float32)
