"""Every docstring example in the package runs (as KerasHub runs its examples), so none can drift."""

import doctest
import importlib
import pkgutil

import pytest

import hier_keras

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(hier_keras.__path__, prefix="hier_keras.")
    if not m.name.endswith(".cli")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
