"""Data pipelines: readers on files the tests write, the bundled subset, shaping,
augmentation, determinism, partial labels and ratio-keeping batches."""

import gzip
import os
import pickle

import numpy as np
import pytest

import hier_keras as hk
from hier_keras.data import fashion_mnist as fm
from hier_keras.data import cifar100 as c100


def _write_idx(path, arr, gz):
    arr = np.asarray(arr, np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = header + arr.tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


def _fake_fashion_folder(folder, gz=True, n=20):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("t10k", n // 2)):
        ext = ".gz" if gz else ""
        _write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte{ext}"),
                   rng.integers(0, 255, (count, 28, 28)), gz)
        _write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte{ext}"),
                   np.arange(count) % 10, gz)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_and_folder(tmp_path, gz):
    folder = _fake_fashion_folder(str(tmp_path / "f"), gz=gz)
    d = hk.data.load_arrays("fashion_mnist", data_dir=folder)
    assert d["x_train"].shape == (20, 28, 28, 1) and d["x_test"].shape == (10, 28, 28, 1)
    assert d["y_train"][:3].tolist() == [[0, 0, 0], [0, 1, 1], [0, 0, 2]]
    assert d["source"] == f"folder:{folder}"
    bad = tmp_path / "bad-idx1-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="bad magic number"):
        hk.data.read_idx(str(bad))


def test_source_search_order(tmp_path, monkeypatch):
    debian = _fake_fashion_folder(str(tmp_path / "debian"))
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    monkeypatch.setattr(fm, "KERAS_CACHE_DIR", str(tmp_path / "nothing"))
    assert hk.data.load_arrays("fashion_mnist")["source"] == "debian"
    assert hk.data.load_arrays("fashion_mnist", source="bundled")["source"] == "bundled"
    monkeypatch.setattr(fm, "DEBIAN_DIR", str(tmp_path / "none"))
    assert hk.data.load_arrays("fashion_mnist")["source"] == "bundled"
    with pytest.raises(ValueError, match="apt-get install -y dataset-fashion-mnist"):
        hk.data.load_arrays("fashion_mnist", source="full")
    with pytest.raises(ValueError, match="Unknown dataset 'mnist'"):
        hk.data.load_arrays("mnist")


def test_bundled_subset_is_stratified_and_valid(bundled, fashion_tree):
    assert bundled["source"] == "bundled"
    assert np.bincount(bundled["y_train"][:, 2]).tolist() == [1000] * 10
    assert np.bincount(bundled["y_test"][:, 2]).tolist() == [200] * 10
    assert fashion_tree.path_is_valid(bundled["y_train"]).all()
    assert os.path.getsize(fm.BUNDLED) <= 6 * 2**20


def _write_cifar(folder, coarse_ok=True):
    os.makedirs(folder, exist_ok=True)
    tree = hk.Hierarchy.cifar100()
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        fine = rng.integers(0, 100, 6)
        coarse = tree.parents[1][fine] if coarse_ok else (tree.parents[1][fine] + 1) % 20
        d = {b"data": rng.integers(0, 255, (6, 3072)).astype(np.uint8),
             b"fine_labels": fine.tolist(), b"coarse_labels": coarse.tolist()}
        with open(os.path.join(folder, split), "wb") as f:
            pickle.dump(d, f)


def test_cifar100_pickle_folder(tmp_path):
    _write_cifar(str(tmp_path / "cifar-100-python"))
    d = hk.data.load_arrays("cifar100", data_dir=str(tmp_path))
    assert d["x_train"].shape == (6, 32, 32, 3) and d["y_train"].shape == (6, 2)
    assert d["source"].startswith("pickle:")
    _write_cifar(str(tmp_path / "bad"), coarse_ok=False)
    with pytest.raises(ValueError, match="disagree with Hierarchy.cifar100"):
        hk.data.load_arrays("cifar100", data_dir=str(tmp_path / "bad"))


def test_cifar100_tfds_mock(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(c100, "KERAS_CACHE_DIR", str(tmp_path / "none"))
    # tfds' mock data draws `label` and `coarse_label` independently, so the loader's
    # consistency check must reject it; patching the coarse labels makes it pass.
    with tfds.testing.mock_data(num_examples=6):
        with pytest.raises(ValueError, match="disagree with Hierarchy.cifar100"):
            hk.data.load_arrays("cifar100", source="tfds")
    tree = hk.Hierarchy.cifar100()
    real = c100._paths
    monkeypatch.setattr(c100, "_paths", lambda t, fine, coarse, w: real(t, fine, tree.parents[1][fine], w))
    with tfds.testing.mock_data(num_examples=6):
        d = hk.data.load_arrays("cifar100", source="tfds")
    assert d["x_train"].shape == (6, 32, 32, 3) and d["source"] == "tfds"


def test_image_folder_variable_depth(tmp_path):
    import tensorflow as tf

    for path in (["A", "a1"], ["A", "a2", "x"], ["B"]):
        d = tmp_path.joinpath(*path)
        d.mkdir(parents=True)
        for i in range(2):
            img = tf.cast(tf.fill((10, 12, 3), 40 * i), tf.uint8)
            tf.io.write_file(str(d / f"{i}.png"), tf.io.encode_png(img))
    ds, tree = hk.data.image_folder(str(tmp_path), input_shape=(16, 16, 3), shuffle=False)
    assert tree.level_sizes == [2, 2, 1]
    x, y = next(iter(ds))
    assert tuple(x.shape[1:]) == (16, 16, 3)
    assert sorted(map(tuple, y.numpy().tolist())) == sorted(
        [(0, 0, -1)] * 2 + [(0, 1, 0)] * 2 + [(1, -1, -1)] * 2)


def test_shapes_augmentation_and_determinism(bundled, fashion_tree):
    x, y = bundled["x_train"][:64], bundled["y_train"][:64]
    assert hk.data.fit_to_shape(x, (32, 32, 3)).shape == (64, 32, 32, 3)
    kw = dict(batch_size=16, shuffle=True, augment=True, seed=3, input_shape=(32, 32, 3))
    a = next(iter(hk.data.from_arrays(x, y, fashion_tree, **kw)))
    b = next(iter(hk.data.from_arrays(x, y, fashion_tree, **kw)))
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    assert a[0].shape == (16, 32, 32, 3) and a[0].dtype.name == "float32"
    c = next(iter(hk.data.from_arrays(x, y, fashion_tree, **{**kw, "seed": 4})))
    assert not np.array_equal(a[0].numpy(), c[0].numpy())
    # Reflect padding copies border pixels where zero padding puts zeros.
    img = np.full((1, 8, 8, 1), 200, np.uint8)
    zero = hk.data.pad_crop_flip(img[0].astype("float32"), np.array([0, 5]), padding="zero")
    refl = hk.data.pad_crop_flip(img[0].astype("float32"), np.array([0, 5]), padding="reflect")
    assert float(np.asarray(refl).min()) == 200.0
    assert float(np.asarray(zero).min()) in (0.0, 200.0)
    with pytest.raises(ValueError, match="Unknown padding"):
        hk.data.pad_crop_flip(img[0].astype("float32"), np.array([0, 1]), padding="wrap")


def test_load_with_model_preprocessing():
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", input_shape=(32, 32, 3),
                                                  **hk.models.HierarchicalModel.tiny_overrides)
    train, test, info = hk.data.load("fashion_mnist", batch_size=8, source="bundled",
                                     preprocessing=model.preprocessing, return_info=True)
    x, y = next(iter(test))
    assert x.shape == (8, 32, 32, 3) and y.shape == (8, 3)
    assert info["train_size"] == 10000 and 60 < info["mean"][0] < 90


def test_bad_inputs(fashion_tree):
    with pytest.raises(ValueError, match=r"\(N, height, width\[, channels\]\)"):
        hk.data.from_arrays(np.zeros((4, 28)), [0, 1, 2, 3], fashion_tree)
    with pytest.raises(ValueError, match="numeric"):
        hk.data.from_arrays(np.array([["a"]]), [0], fashion_tree)
    with pytest.raises(ValueError, match="4 images but 3 label rows"):
        hk.data.from_arrays(np.zeros((4, 28, 28)), [0, 1, 2], fashion_tree)
    with pytest.raises(ValueError, match="out of range"):
        hk.data.from_arrays(np.zeros((2, 28, 28)), [0, 10], fashion_tree)
    with pytest.raises(ValueError, match="Inconsistent"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), [[1, 0, 0]], fashion_tree)


def test_partial_labels_and_ratio_batches(bundled, fashion_tree):
    y = bundled["y_train"]
    out, is_fine, keep = hk.data.partial_labels(y, fashion_tree, 0.1, 0.5, seed=1)
    assert is_fine.sum() == 1000 and keep.sum() == 6000
    assert (np.bincount(y[is_fine, 2]) == 100).all()
    assert (out[keep & ~is_fine, 1:] == -1).all() and (out[is_fine] == y[is_fine]).all()
    again = hk.data.partial_labels(y, fashion_tree, 0.1, 0.5, seed=1)[1]
    np.testing.assert_array_equal(is_fine, again)
    with pytest.raises(ValueError, match="sum to at most 1"):
        hk.data.partial_labels(y, fashion_tree, 0.7, 0.5)
    x = bundled["x_train"][keep]
    ds = hk.data.ratio_batches(x, out[keep], is_fine[keep], batch_size=60)
    for xb, yb in ds.take(5):
        assert xb.shape[0] == 60
        assert int((yb.numpy()[:, 2] >= 0).sum()) == 10  # 1000 : 5000 = 10 : 50
