"""tf.data pipelines for hierarchical labels (`hk.data`).

Every pipeline yields `(images, labels)`: images float32 *raw* pixel values in
[0, 255] fitted to the model's input shape (models normalise internally),
labels int32 `(batch, depth)` paths, coarsest first, -1 unknown.

- `load` / `load_arrays`: Fashion-MNIST (folder, Debian package, Keras' cache,
  bundled subset) and CIFAR-100 (pickle folder, tfds); nothing is downloaded.
- `from_arrays`: your own NumPy arrays; `image_folder`: a folder tree.
- `partial_labels` / `ratio_batches`: S_fine / S_coarse splits and
  mini-batches that keep their ratio.
- `fit_to_shape`, `pad_crop_flip`, `compute_mean_std`: the pieces.

Example:

>>> import hier_keras as hk
>>> train, test = hk.data.load("fashion_mnist", batch_size=64, source="bundled")
>>> x, y = next(iter(train))
>>> tuple(y.shape)
(64, 3)
"""

from hier_keras.data.arrays import compute_mean_std, from_arrays
from hier_keras.data.augment import batch_pad_crop_flip, pad_crop_flip
from hier_keras.data.fashion_mnist import read_idx
from hier_keras.data.image_folder import image_folder
from hier_keras.data.partial import partial_labels, ratio_batches
from hier_keras.data.pipeline import load, load_arrays, stratified_subset
from hier_keras.data.shapes import fit_to_shape, read_images

__all__ = [
    "compute_mean_std", "fit_to_shape", "from_arrays", "image_folder", "load", "load_arrays",
    "batch_pad_crop_flip", "pad_crop_flip", "partial_labels", "ratio_batches", "read_idx", "read_images",
    "stratified_subset",
]
