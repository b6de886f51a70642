"""The built-in trees: Fashion-MNIST (Seo & Shin 2019) and CIFAR-100 (20 x 5).

`Hierarchy.fashion_mnist()`, `Hierarchy.cifar100()` and `Hierarchy.get(name)`
build them from the names here.

Example:

>>> from hier_keras import Hierarchy
>>> cifar100(Hierarchy).level_sizes
[20, 100]
"""

from __future__ import annotations


def fashion_mnist(cls):
    """The 3-level Fashion-MNIST tree (`Hierarchy.fashion_mnist`)."""
    return cls(
        [
            ["Clothes", "Goods"],
            ["Tops", "Bottoms", "Dresses", "Outers", "Accessories", "Shoes"],
            FASHION_MNIST_CLASSES,
        ],
        [None, [0, 0, 0, 0, 1, 1], [0, 1, 0, 2, 3, 5, 0, 5, 4, 5]],
    )


def cifar100(cls):
    """CIFAR-100's 20 superclasses over 100 classes (`Hierarchy.cifar100`)."""
    fine_parent = [0] * 100
    for c, members in enumerate(_CIFAR100_MEMBERS):
        for name in members:
            fine_parent[CIFAR100_FINE.index(name)] = c
    return cls([CIFAR100_COARSE, CIFAR100_FINE], [None, fine_parent])


#: Built-in hierarchies by name (`Hierarchy.get`), each the name of its classmethod.
BUILTIN_HIERARCHIES = {"fashion_mnist": "fashion_mnist", "cifar100": "cifar100"}

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

CIFAR100_FINE = [
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
    "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can",
    "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud",
    "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant",
    "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree",
    "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea",
    "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe",
    "whale", "willow_tree", "wolf", "woman", "worm",
]

CIFAR100_COARSE = [
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates",
    "people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
]

_CIFAR100_MEMBERS = [
    ["beaver", "dolphin", "otter", "seal", "whale"],
    ["aquarium_fish", "flatfish", "ray", "shark", "trout"],
    ["orchid", "poppy", "rose", "sunflower", "tulip"],
    ["bottle", "bowl", "can", "cup", "plate"],
    ["apple", "mushroom", "orange", "pear", "sweet_pepper"],
    ["clock", "keyboard", "lamp", "telephone", "television"],
    ["bed", "chair", "couch", "table", "wardrobe"],
    ["bee", "beetle", "butterfly", "caterpillar", "cockroach"],
    ["bear", "leopard", "lion", "tiger", "wolf"],
    ["bridge", "castle", "house", "road", "skyscraper"],
    ["cloud", "forest", "mountain", "plain", "sea"],
    ["camel", "cattle", "chimpanzee", "elephant", "kangaroo"],
    ["fox", "porcupine", "possum", "raccoon", "skunk"],
    ["crab", "lobster", "snail", "spider", "worm"],
    ["baby", "boy", "girl", "man", "woman"],
    ["crocodile", "dinosaur", "lizard", "snake", "turtle"],
    ["hamster", "mouse", "rabbit", "shrew", "squirrel"],
    ["maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"],
    ["bicycle", "bus", "motorcycle", "pickup_truck", "train"],
    ["lawn_mower", "rocket", "streetcar", "tank", "tractor"],
]
