"""Pretrained weights from local files into a backbone (no network needed).

Two file formats, as keras.applications and KerasHub write them:

- **by layer name** (`.h5`: keras.applications' `*_notop.h5` downloads, and
  anything `save_weights_by_name` writes): a group per layer holding its
  weight arrays in order. A registered backbone's layers are named
  `<backbone>_s<k>_<name>`; the file names them `<name>` where those are
  unique without the stage (`resnet50`, `se_resnet50`, `cbam_resnet50` and
  `vgg16` use keras.applications' own layer names, so their ImageNet files
  load as they are), else `s<k>_<name>`.
- **by structure** (`.weights.h5`, Keras 3's `save_weights`, and the
  `model.weights.h5` of a KerasHub preset directory): loaded into the wrapped
  model with Keras' own loader.

Every layer of the backbone that has weights must find its arrays with the
same shapes; the error names the first one that does not and the file.

Example:

>>> import hier_keras as hk, numpy as np, tempfile, os
>>> a = hk.backbones.Backbone("small", (28, 28, 1), {"widths": [4, 8, 8]})
>>> path = os.path.join(tempfile.mkdtemp(), "small.h5")
>>> save_weights_by_name(a, path)
>>> b = hk.backbones.Backbone("small", (28, 28, 1), {"widths": [4, 8, 8]})
>>> load_backbone_weights(b, path)
>>> x = np.random.default_rng(0).uniform(0, 1, (1, 28, 28, 1))
>>> bool(np.allclose(a(x)["features"], b(x)["features"]))
True
"""

from __future__ import annotations

import os
import re

import h5py
import numpy as np


def _named_layers(backbone):
    """`{name in the file: layer}` for every layer of the backbone that has weights."""
    from hier_keras.backbones.external import FunctionalBackbone

    from hier_keras.backbones.backbone import Backbone

    if isinstance(backbone, FunctionalBackbone):
        return {layer.name: layer for layer in backbone._source.model.layers if layer.weights}
    if not isinstance(backbone, Backbone):  # any Keras model, e.g. a keras.applications one
        return {layer.name: layer for layer in backbone.layers if layer.weights}
    own = [layer for layer in backbone.layers if layer.weights]
    with_stage = [layer.name[len(backbone.name) + 1:] for layer in own]
    short = [re.sub(r"^(s\d+|pool)_", "", name) for name in with_stage]
    # keras.applications' names (ResNet-50, VGG-16) are unique without the stage; others not.
    keys = short if len(set(short)) == len(short) else with_stage
    return dict(zip(keys, own))


def save_weights_by_name(backbone, path) -> None:
    """Write weights by layer name, as keras.applications' weight files hold them.

    `backbone` is a `Backbone` (its layer names without the `<name>_s<k>_`
    prefix) or any Keras model (its layer names).
    """
    with h5py.File(path, "w") as f:
        names = []
        for key, layer in _named_layers(backbone).items():
            group = f.create_group(key)
            weight_names = []
            for i, var in enumerate(layer.weights):
                wname = f"{key}/{var.name}_{i}"
                group.create_dataset(wname, data=np.asarray(var.numpy()))
                weight_names.append(wname.encode("utf8"))
            group.attrs["weight_names"] = weight_names
            names.append(key.encode("utf8"))
        f.attrs["layer_names"] = names


def load_backbone_weights(backbone, path) -> None:
    """Load a local weights file into a backbone (see the module docstring).

    Raises:
        ValueError: the file is missing or unreadable, a layer of the backbone
            has no weights in the file, or a shape differs (the first such
            layer is named).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"Backbone weights file {path!r} does not exist.")
    if path.endswith(".weights.h5"):
        _load_by_structure(backbone, path)
        return
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"Backbone weights file {path!r} is not an HDF5 weights file ({err}).") \
            from err
    with f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"{path!r} holds no weights by layer name (no 'layer_names'); a Keras 3 weights "
                "file must end in '.weights.h5'.")
        _load_by_name(backbone, group, path)


def _load_by_name(backbone, group, path):
    stored = {n.decode("utf8") if isinstance(n, bytes) else n for n in group.attrs["layer_names"]}
    for key, layer in _named_layers(backbone).items():
        if key not in stored:
            raise ValueError(
                f"Backbone weights file {path!r} has no weights for layer {key!r} "
                f"({layer.name}); is it a file of the same architecture?")
        names = [n.decode("utf8") if isinstance(n, bytes) else n
                 for n in group[key].attrs["weight_names"]]
        arrays = [np.asarray(group[key][n]) for n in names]
        if len(arrays) != len(layer.weights):
            raise ValueError(f"Layer {key!r} has {len(layer.weights)} weights but {path!r} holds "
                             f"{len(arrays)} for it.")
        for var, arr in zip(layer.weights, arrays):
            if tuple(var.shape) != arr.shape:
                raise ValueError(
                    f"Layer {key!r} does not fit the weights in {path!r}: its {var.name} has "
                    f"shape {tuple(var.shape)}, the file's {arr.shape}.")
        for var, arr in zip(layer.weights, arrays):
            var.assign(arr)


def _load_by_structure(backbone, path):
    from hier_keras.backbones.external import FunctionalBackbone

    target = backbone._source.model if isinstance(backbone, FunctionalBackbone) else backbone
    try:
        target.load_weights(path)
    except (ValueError, KeyError) as err:
        raise ValueError(f"The weights in {path!r} do not fit the backbone {backbone.name!r}: "
                         f"{err}") from err
