import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    import tensorflow as tf

    # Two xdist workers share two cores: one thread each avoids oversubscription.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


@pytest.fixture
def fashion_tree():
    from hier_keras import Hierarchy

    return Hierarchy.fashion_mnist()


@pytest.fixture
def variable_tree():
    """Depth 3 with leaves at levels 1 and 2."""
    from hier_keras import Hierarchy

    return Hierarchy.from_paths([["A", "a1", "x"], ["A", "a1", "y"], ["A", "a2"],
                                 ["B", "b1", "z"], ["B", "b2"]])


@pytest.fixture(scope="session")
def bundled():
    from hier_keras import data

    return data.load_arrays("fashion_mnist", source="bundled")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
