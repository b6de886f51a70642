"""Property-based checks: random trees, label arrays and paths round-trip or raise ValueError.

Whatever a user hands the builders and label checks, the answer is a valid
`Hierarchy` / label array that round-trips, or a `ValueError` naming the
problem; never a TypeError, IndexError or KeyError from inside.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hier_keras import Hierarchy

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Few distinct names, so collisions (duplicates, two parents, cycles) are common;
# empties (None, "", NaN), numbers and non-names mixed in.
NAME = st.sampled_from(["a", "b", "c", "d", "e", "A", "B"])
ODD = st.sampled_from([None, "", float("nan"), 1, 2, 2.5, True, ("x",), b"a"])
ANY_NAME = st.one_of(NAME, NAME, NAME, ODD)


def _round_trips(tree):
    assert Hierarchy.coerce(tree.to_dict()) == tree
    assert Hierarchy.from_json(tree.to_json()) == tree
    leaves = tree.leaf_paths()
    assert np.array_equal(tree.complete(leaves), leaves)
    tree.validate_labels(tree.node_paths())
    assert tree.path_is_valid(tree.node_paths()).all()
    fine = np.flatnonzero(tree.is_leaf(tree.depth - 1))
    if fine.size:
        rows = tree.complete(fine)
        assert np.array_equal(rows[:, -1], fine)
    for row in leaves:
        assert tree.path_from_names(tree.path_names(row)).tolist() == row.tolist()


def _build(build, *args):
    try:
        tree = build(*args)
    except ValueError:
        return None
    _round_trips(tree)
    return tree


@SETTINGS
@given(st.lists(st.tuples(ANY_NAME, st.one_of(st.none(), ANY_NAME)), max_size=8))
def test_random_parent_maps(pairs):
    _build(Hierarchy.from_parents, pairs)
    _build(Hierarchy.from_parents, dict(pairs) if all(
        isinstance(c, (str, int, float, type(None), tuple, bytes)) for c, _ in pairs) else pairs)


@SETTINGS
@given(st.lists(st.lists(ANY_NAME, max_size=4), max_size=6))
def test_random_paths(paths):
    tree = _build(Hierarchy.from_paths, paths)
    if tree is None:
        return
    for path in paths:  # every given path is a path of the tree
        names = [str(n) for n in path if not (n is None or n == "" or (
            isinstance(n, float) and math.isnan(n)))]
        if names:
            assert tree.path_names(tree.path_from_names(names)) == names


NESTED = st.recursive(
    st.one_of(st.none(), st.lists(ANY_NAME, max_size=3)),
    lambda kids: st.dictionaries(NAME, kids, max_size=3), max_leaves=8)


@SETTINGS
@given(st.one_of(NESTED, ODD))
def test_random_nested_trees(tree):
    _build(Hierarchy.from_nested, tree)


TREE = st.lists(st.lists(NAME, min_size=1, max_size=3), min_size=1, max_size=5).map(
    lambda paths: _build(Hierarchy.from_paths, paths)).filter(lambda t: t is not None)


@SETTINGS
@given(TREE, st.data())
def test_random_label_arrays(tree, data):
    top = max(tree.level_sizes) + 2
    shape = data.draw(st.one_of(
        st.tuples(st.integers(0, 4), st.just(tree.depth)),
        st.tuples(st.integers(0, 4), st.integers(0, tree.depth + 1)),
        st.tuples(st.integers(0, 4))))
    labels = data.draw(st.lists(st.integers(-3, top), min_size=int(np.prod(shape)),
                                max_size=int(np.prod(shape))))
    labels = np.array(labels, dtype=np.int64).reshape(shape)
    as_float = data.draw(st.booleans())
    if as_float:
        labels = labels.astype(np.float64) + data.draw(st.sampled_from([0.0, 0.5]))
    checks = [tree.validate_labels, tree.complete]
    if not as_float:  # float paths: see test_path_is_valid_on_float_paths
        checks.append(tree.path_is_valid)
    for check in checks:
        try:
            out = check(labels)
        except ValueError:
            continue
        assert out.shape[0] == labels.shape[0]
    try:
        valid = tree.validate_labels(labels)
    except ValueError:
        return
    if valid.ndim == 2 and (valid != -2).all():
        # Valid rows complete to themselves with coarser levels filled in.
        done = tree.complete(valid)
        known = valid >= 0
        assert np.array_equal(done[known], valid[known])
        assert tree.path_is_valid(done).all()
        assert (tree.lca_height(done, done) == 0).all()


@SETTINGS
@given(TREE, st.lists(st.lists(st.integers(-3, 6), min_size=0, max_size=6), min_size=1,
                      max_size=4))
def test_random_paths_for_metrics(tree, rows):
    width = max(len(r) for r in rows)
    paths = np.array([r + [-1] * (width - len(r)) for r in rows], dtype=np.int64)
    for fn in (tree.path_is_valid, lambda p: tree.lca_height(p, p[::-1])):
        try:
            out = fn(paths)
        except ValueError:
            continue
        assert out.shape == (len(rows),)


def test_path_is_valid_on_float_paths():
    # Found by test_random_label_arrays: float paths used to raise IndexError.
    tree = Hierarchy.from_paths([["A", "a"], ["B"]])
    out = tree.path_is_valid(np.array([[0.0, 0.0], [1.0, -1.0]]))
    assert out.tolist() == [True, True]


def test_regressions_found_by_the_properties():
    # Kept as plain examples: each was a silent wrong tree before.
    with pytest.raises(ValueError, match="Undefined parent 'Vehicle'"):
        Hierarchy.from_parents({"Animal": None, "cat": "Animal", "car": "Vehicle"})
    with pytest.raises(ValueError, match="empty name"):
        Hierarchy.from_paths([["A", None, "x"]])
