"""tf.data pipelines for hierarchical labels.

Example:

>>> import hier_keras as hk
>>> train, test = hk.data.load("fashion_mnist", batch_size=64, source="bundled")
>>> x, y = next(iter(train))
>>> tuple(y.shape)
(64, 3)
"""

from hier_keras.data.augment import pad_crop_flip
from hier_keras.data.fashion_mnist import read_idx
from hier_keras.data.image_folder import image_folder
from hier_keras.data.partial import partial_labels, ratio_batches
from hier_keras.data.pipeline import compute_mean_std, from_arrays, load, load_arrays
from hier_keras.data.shapes import fit_to_shape, read_images

__all__ = [
    "compute_mean_std", "fit_to_shape", "from_arrays", "image_folder", "load", "load_arrays",
    "pad_crop_flip", "partial_labels", "ratio_batches", "read_idx", "read_images",
]
