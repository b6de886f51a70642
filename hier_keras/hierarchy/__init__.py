"""The label tree (`hk.Hierarchy`) and what it is built from.

- `tree`: the `Hierarchy` class (levels, names, parents, paths, serialization,
  `get` / `coerce`);
- `labels`: label rows checked against a tree (`complete`, `validate_labels`);
- `builders`: trees from parent links, nested dicts, paths, tables, folders;
- `builtin`: the Fashion-MNIST and CIFAR-100 trees.

Example:

>>> from hier_keras.hierarchy import Hierarchy
>>> Hierarchy.coerce("cifar100").level_sizes
[20, 100]
"""

from hier_keras.hierarchy.builtin import (
    BUILTIN_HIERARCHIES,
    CIFAR100_COARSE,
    CIFAR100_FINE,
    FASHION_MNIST_CLASSES,
)
from hier_keras.hierarchy.labels import END, UNKNOWN
from hier_keras.hierarchy.tree import Hierarchy, default_level_names

__all__ = ["BUILTIN_HIERARCHIES", "CIFAR100_COARSE", "CIFAR100_FINE", "END",
           "FASHION_MNIST_CLASSES", "UNKNOWN", "Hierarchy",
           "default_level_names"]
