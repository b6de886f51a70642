import json
import os

import numpy as np
import pandas as pd
import pytest

from hier_keras import Hierarchy


def test_fashion_mnist_tree(fashion_tree):
    t = fashion_tree
    assert t.level_sizes == [2, 6, 10]
    assert t.path_names(t.complete([6])[0]) == ["Clothes", "Tops", "Shirt"]
    assert t.path_names(t.complete([8])[0]) == ["Goods", "Accessories", "Bag"]
    assert t.membership(1).sum(axis=1).tolist() == [1.0] * 10
    assert t.is_fixed_depth


def test_cifar100_tree_matches_tfds_numbering():
    t = Hierarchy.cifar100()
    assert t.level_sizes == [20, 100]
    assert np.bincount(t.parents[1]).tolist() == [5] * 20
    # tfds / Keras: fine 0 apple -> coarse 4 fruit_and_vegetables; 99 worm -> 13.
    assert t.parents[1][0] == 4 and t.parents[1][99] == 13
    assert t.class_names[1][t.name_to_id("fine", "whale")] == "whale"
    assert t.class_names[0][t.parents[1][t.name_to_id(1, "whale")]] == "aquatic_mammals"


def test_builders_agree():
    nested = {"A": {"a1": ["x", "y"], "a2": None}, "B": {"b1": ["z"], "b2": None}}
    t1 = Hierarchy.from_nested(nested)
    t2 = Hierarchy.from_paths([["A", "a1", "x"], ["A", "a1", "y"], ["A", "a2"],
                               ["B", "b1", "z"], ["B", "b2"]])
    t3 = Hierarchy.from_parents({"A": None, "B": None, "a1": "A", "a2": "A", "b1": "B",
                                 "b2": "B", "x": "a1", "y": "a1", "z": "b1"})
    df = pd.DataFrame({"l0": ["A", "A", "A", "B", "B"], "l1": ["a1", "a1", "a2", "b1", "b2"],
                       "l2": ["x", "y", None, "z", None]})
    t4 = Hierarchy.from_dataframe(df, level_names=None)
    assert t1 == t2 == t3
    assert t4.class_names == t1.class_names and t4.level_names == ["l0", "l1", "l2"]
    assert not t1.is_fixed_depth
    assert t1.leaf_paths().tolist() == [[0, 1, -1], [1, 3, -1], [0, 0, 0], [0, 0, 1], [1, 2, 2]]


def test_csv_folder_and_json(tmp_path, variable_tree):
    csv = tmp_path / "tree.csv"
    csv.write_text("super,sub,leaf\nA,a1,x\nA,a1,y\nA,a2,\nB,b1,z\nB,b2,\n")
    assert Hierarchy.from_csv(csv).class_names == variable_tree.class_names
    for path in (["A", "a1", "x"], ["A", "a2"], ["B", "b1", "z"]):
        d = tmp_path.joinpath("imgs", *path)
        d.mkdir(parents=True)
        (d / "1.png").write_bytes(b"")
    folder = Hierarchy.from_folder(tmp_path / "imgs")
    assert folder.level_sizes == [2, 3, 2]
    assert Hierarchy.from_json(variable_tree.to_json()) == variable_tree
    variable_tree.to_json(tmp_path / "t.json")
    assert Hierarchy.from_json(tmp_path / "t.json") == variable_tree
    assert json.loads(variable_tree.to_json())["level_names"] == ["coarse", "medium", "fine"]


def test_node_vocabulary(variable_tree):
    t = variable_tree
    assert t.num_nodes == 2 + 4 + 3
    assert t.node_offsets.tolist() == [0, 2, 6]
    lvl, idx = t.node_level([0, 2, 8])
    assert lvl.tolist() == [0, 1, 2] and idx.tolist() == [0, 0, 2]
    mask = t.child_mask()
    assert mask[-1].nonzero()[0].tolist() == [0, 1]  # root -> level 0
    assert mask[2].nonzero()[0].tolist() == [6, 7]  # a1 -> x, y
    assert not mask[3].any()  # a2 is a leaf
    assert t.node_parents().tolist() == [-1, -1, 0, 0, 1, 1, 2, 2, 4]


def test_complete_and_lca(fashion_tree):
    t = fashion_tree
    rows = t.complete(np.array([[-1, -1, 0], [0, -1, -1], [1, 5, -1]]))
    assert rows.tolist() == [[0, 0, 0], [0, -1, -1], [1, 5, -1]]
    a = t.complete([0, 0, 0])
    b = t.complete([0, 6, 9])
    assert t.lca_height(a, b).tolist() == [0, 1, 3]
    assert t.path_is_valid(np.array([[0, 0, 6], [0, 0, 9], [1, 5, 9]])).tolist() == [True, False, True]


@pytest.mark.parametrize(
    "builder, match",
    [
        (lambda: Hierarchy.from_parents({"a": "b", "b": "c", "c": "a"}), "Cycle in the hierarchy"),
        (lambda: Hierarchy.from_parents({"a": "X", "b": "Y"}), "Orphan classes"),
        (lambda: Hierarchy([["A"], ["a"]], [None, [3]]), "Orphan class 'a'"),
        (lambda: Hierarchy.from_parents([("a", "A"), ("a", "A"), ("A", None)]), "Duplicate name 'a' under parent 'A'"),
        (lambda: Hierarchy([["A", "B"], ["x", "x"]], [None, [0, 0]]), "Duplicate name 'x' under parent 'A'"),
        (lambda: Hierarchy.from_paths([["A", "x"], ["B", "x"]]), "appears under 'A' and under 'B'"),
        (lambda: Hierarchy.from_parents([("a", "A"), ("a", "B"), ("A", None), ("B", None)]), "two parents"),
    ],
)
def test_malformed_trees(builder, match):
    with pytest.raises(ValueError, match=match):
        builder()


def test_bad_labels(fashion_tree):
    t = fashion_tree
    with pytest.raises(ValueError, match="out of range for level 2"):
        t.validate_labels([[0, 0, 10]])
    with pytest.raises(ValueError, match=r"Inconsistent labels in row 1 .*'Trouser' \(id 1\) has parent 'Bottoms'"):
        t.validate_labels([[0, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="shape \\(batch, 3\\)"):
        t.validate_labels(np.zeros((4, 2), int))
    with pytest.raises(ValueError, match="call `hierarchy.complete"):
        t.validate_labels([[-1, 0, 0]])
    with pytest.raises(ValueError, match="end marker"):
        t.validate_labels([[-2, -1, -1]])
    assert t.validate_labels([[0, 0, -2]]).tolist() == [[0, 0, -2]]
    with pytest.raises(ValueError, match="Inconsistent"):
        t.complete([[1, -1, 0]])
    with pytest.raises(ValueError, match="No class named 'Hats' at level 1"):
        t.path_from_names(["Clothes", "Hats"])
    with pytest.raises(ValueError, match="'Shoes' .* has parent 'Goods'"):
        t.path_from_names(["Clothes", "Shoes"])


# ---------------------------------------------------------------- builder input checks
@pytest.mark.parametrize("build, match", [
    (lambda: Hierarchy.from_parents({"Animal": None, "cat": "Animal", "car": "Vehicle"}),
     r"Undefined parent 'Vehicle' of \['car'\].*Define it"),
    (lambda: Hierarchy.from_paths([["A", None, "x"]]), r"empty name \(None\) at level 1 above the name 'x'"),
    (lambda: Hierarchy.from_paths([["A", "", "x"]]), "empty name"),
    (lambda: Hierarchy.from_paths([[float("nan"), "x"]]), "at level 0"),
    (lambda: Hierarchy.from_nested({}), "Empty tree"),
    (lambda: Hierarchy.from_nested([]), "Empty tree"),
    (lambda: Hierarchy.from_paths([]), "Empty tree"),
    (lambda: Hierarchy.from_paths([[None], []]), "Empty tree"),
    (lambda: Hierarchy.from_parents({}), "Empty tree"),
    (lambda: Hierarchy.from_parents([]), "Empty tree"),
    (lambda: Hierarchy.from_parents([("a",)]), "not a \\(child, parent\\) pair"),
    (lambda: Hierarchy.from_parents({None: "A"}), "has no name"),
    (lambda: Hierarchy.from_parents({"a": ["A"]}), r"Class name \['A'\] \(list\)"),
    (lambda: Hierarchy.from_paths([["A", {"x": 1}]]), r"\(dict\).*not a name"),
    (lambda: Hierarchy.from_paths([["A", True]]), r"\(bool\)"),
    (lambda: Hierarchy.from_paths("abc"), "list of paths"),
    (lambda: Hierarchy.from_paths(["abc"]), "not a sequence of names"),
    (lambda: Hierarchy.from_nested({"A": "x"}), "Unexpected str under 'A'"),
    (lambda: Hierarchy.from_parents({1: None, "1": None}), "Duplicate name '1'"),
])
def test_builders_refuse_malformed_input(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_builders_names_and_trailing_empties():
    # One shared undefined root above every level-0 class is still the root.
    assert Hierarchy.from_parents({"cat": "Animal", "dog": "Animal"}).level_sizes == [2]
    assert Hierarchy.from_parents({"A": "root", "a": "A"}).class_names == [["A"], ["a"]]
    # Trailing None / NaN / "" end a path (the class is a leaf one level up).
    tree = Hierarchy.from_paths([["A", "a1"], ["B", None], ["C", "", float("nan")]])
    assert tree.class_names == [["A", "B", "C"], ["a1"]]
    # Numbers become names through str(), the same way in every builder.
    t1 = Hierarchy.from_parents({1: None, 2: 1, np.int64(3): 1})
    t2 = Hierarchy.from_paths([[1, 2], [1, 3]])
    t3 = Hierarchy.from_nested({1: [2, 3]})
    assert t1 == t2 == t3 and t1.class_names == [["1"], ["2", "3"]]
    assert Hierarchy.from_paths([[1.5]]).class_names == [["1.5"]]


def test_file_builders_name_the_missing_or_unreadable_file(tmp_path, variable_tree):
    missing = tmp_path / "nope.json"
    for build in (lambda: Hierarchy.from_json(missing), lambda: Hierarchy.from_json(str(missing))):
        with pytest.raises(ValueError, match="nope.json.*does not exist"):
            build()
    with pytest.raises(ValueError, match="nope.csv.*does not exist"):
        Hierarchy.from_csv(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="nope.*does not exist"):
        Hierarchy.from_folder(tmp_path / "nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        Hierarchy.from_json(bad)
    with pytest.raises(ValueError, match="JSON text is not valid JSON"):
        Hierarchy.from_json("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="holds a list"):
        Hierarchy.from_json(tmp_path / "list.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="bin.json"):
        Hierarchy.from_json(tmp_path / "bin.json")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv"):
        Hierarchy.from_csv(tmp_path / "empty.csv")
    with pytest.raises(ValueError, match="takes JSON text or a file path"):
        Hierarchy.from_json(42)
    # A directory is not a file either.
    with pytest.raises(ValueError, match="is not a\\s+file"):
        Hierarchy.from_json(tmp_path)
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked.json"
        locked.write_text(variable_tree.to_json())
        locked.chmod(0)
        with pytest.raises(ValueError, match="Cannot read the hierarchy JSON file.*locked.json"):
            Hierarchy.from_json(locked)
    assert Hierarchy.from_json(variable_tree.to_json()) == variable_tree
