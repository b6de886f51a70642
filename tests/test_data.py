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


def test_cifar100_pickle_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(c100, "KERAS_CACHE_DIR", str(tmp_path / "none"))
    _write_cifar(str(tmp_path / "cifar-100-python"))
    d = hk.data.load_arrays("cifar100", data_dir=str(tmp_path))
    assert d["x_train"].shape == (6, 32, 32, 3) and d["x_train"].dtype == np.uint8
    assert d["y_train"].shape == (6, 2) and d["y_train"].dtype == np.int32
    assert hk.Hierarchy.cifar100().path_is_valid(d["y_train"]).all()
    assert d["source"] == f"folder:{tmp_path / 'cifar-100-python'}"
    # CHW rows -> HWC: pixel (row 0, col 1) of channel 2 is byte 2*1024 + 1.
    raw = pickle.load(open(tmp_path / "cifar-100-python" / "train", "rb"))[b"data"]
    assert d["x_train"][0, 0, 1, 2] == raw[0, 2 * 1024 + 1]
    _write_cifar(str(tmp_path / "bad"), coarse_ok=False)
    with pytest.raises(ValueError, match="disagree with Hierarchy.cifar100"):
        hk.data.load_arrays("cifar100", data_dir=str(tmp_path / "bad"))
    # Keras' cache is the fallback; nothing found and no tfds data -> how to get it.
    monkeypatch.setattr(c100, "KERAS_CACHE_DIR", str(tmp_path / "cifar-100-python"))
    assert hk.data.load_arrays("cifar100")["source"] == "keras_cache"
    monkeypatch.setattr(c100, "KERAS_CACHE_DIR", str(tmp_path / "none"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Nothing is downloaded here.*cifar-100-python.tar.gz"):
        hk.data.load_arrays("cifar100", data_dir=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="No cifar-100-python folder"):
        hk.data.load_arrays("cifar100", data_dir=str(tmp_path / "empty"), source="pickle")
    with pytest.raises(ValueError, match="is not a folder"):
        hk.data.load_arrays("cifar100", data_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="Unknown CIFAR-100 source 'bundled'"):
        hk.data.load_arrays("cifar100", source="bundled")
    (tmp_path / "notcifar").mkdir()
    for split in ("train", "test"):
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8)},
                    open(tmp_path / "notcifar" / split, "wb"))
    with pytest.raises(ValueError, match="not a CIFAR-100 pickle"):
        hk.data.load_arrays("cifar100", data_dir=str(tmp_path / "notcifar"))


def test_cifar100_tfds_mock(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(c100, "KERAS_CACHE_DIR", str(tmp_path / "none"))
    # `tfds.testing.mock_data` works offline for cifar100 (it fakes examples from the
    # builder's feature spec, no download). It draws `label` and `coarse_label`
    # independently, so the loader's consistency check must reject it; patching the
    # coarse labels to the true parents of the fine ones makes it pass.
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
    assert tuple(x.shape[1:]) == (16, 16, 3) and x.dtype.name == "float32"
    assert float(x.numpy().max()) == 40.0  # raw pixel values, not rescaled
    assert sorted(map(tuple, y.numpy().tolist())) == sorted(
        [(0, 0, -1)] * 2 + [(0, 1, 0)] * 2 + [(1, -1, -1)] * 2)
    ds, _ = hk.data.image_folder(str(tmp_path), hierarchy=tree, image_size=(8, 8), batch_size=6)
    assert next(iter(ds))[0].shape == (6, 8, 8, 3)
    other = hk.Hierarchy.from_paths([["A", "a1"], ["C"]])
    with pytest.raises(ValueError, match="not a path of the given hierarchy"):
        hk.data.image_folder(str(tmp_path), hierarchy=other, image_size=(8, 8))
    with pytest.raises(ValueError, match="Pass `input_shape`"):
        hk.data.image_folder(str(tmp_path))
    (tmp_path / "empty" / "e").mkdir(parents=True)
    with pytest.raises(ValueError, match="Class folder .*empty/e' holds no images"):
        hk.data.image_folder(str(tmp_path / "empty"), image_size=(8, 8))


def test_shape_adaptation():
    img = np.arange(28 * 28, dtype=np.uint8).reshape(1, 28, 28) % 250 + 1
    out = hk.data.fit_to_shape(img, (32, 32, 3))
    assert out.shape == (1, 32, 32, 3) and out.dtype == np.float32
    # Zero padding, centred: 2 px each side, image in the middle, channels repeated.
    assert (out[:, :2] == 0).all() and (out[:, -2:] == 0).all() and (out[:, :, :2] == 0).all()
    np.testing.assert_array_equal(out[0, 2:30, 2:30, 1], img[0])
    # The tf.data version agrees with the NumPy one.
    from hier_keras.data.shapes import tf_fit_to_shape
    tf_out = tf_fit_to_shape(img[0, ..., None].astype(np.float32), (32, 32, 3)).numpy()
    np.testing.assert_array_equal(tf_out, out[0])
    rgb = np.stack([np.zeros((40, 40)), np.full((40, 40), 30), np.full((40, 40), 60)], -1)[None]
    grey = hk.data.fit_to_shape(rgb, (32, 32, 1))
    assert grey.shape == (1, 32, 32, 1) and np.allclose(grey, 30)  # averaged, resized
    with pytest.raises(ValueError, match="Cannot map 2 channels to 3"):
        hk.data.fit_to_shape(np.zeros((1, 4, 4, 2)), (4, 4, 3))


def test_augmentation_padding_modes():
    img = np.full((8, 8, 1), 200, np.float32)
    zero = [hk.data.pad_crop_flip(img, np.array([0, s]), padding="zero").numpy() for s in range(8)]
    refl = [hk.data.pad_crop_flip(img, np.array([0, s]), padding="reflect").numpy() for s in range(8)]
    assert all(z.shape == (8, 8, 1) for z in zero + refl)
    # Reflect padding copies image pixels where zero padding puts zeros.
    assert min(float(r.min()) for r in refl) == 200.0
    assert min(float(z.min()) for z in zero) == 0.0
    assert any(not np.array_equal(z, r) for z, r in zip(zero, refl))
    # "zero" is the default padding; the same seed gives the same crop and flip.
    grad = np.arange(64, dtype=np.float32).reshape(8, 8, 1)
    a = hk.data.pad_crop_flip(grad, np.array([1, 2]), padding="zero").numpy()
    np.testing.assert_array_equal(a, hk.data.pad_crop_flip(grad, np.array([1, 2])).numpy())
    with pytest.raises(ValueError, match="Unknown padding 'wrap'"):
        hk.data.pad_crop_flip(img, np.array([0, 1]), padding="wrap")
    # The batched version (what the pipelines use): one crop/flip per image.
    same = np.repeat(grad[None], 16, axis=0)
    out = hk.data.batch_pad_crop_flip(same, np.array([0, 1]), padding="zero").numpy()
    assert out.shape == (16, 8, 8, 1) and len({o.tobytes() for o in out}) > 4
    refl = hk.data.batch_pad_crop_flip(np.full((16, 8, 8, 1), 200.0, np.float32),
                                       np.array([0, 1]), padding="reflect").numpy()
    zero = hk.data.batch_pad_crop_flip(np.full((16, 8, 8, 1), 200.0, np.float32),
                                       np.array([0, 1]), padding="zero").numpy()
    assert refl.min() == 200.0 and zero.min() == 0.0
    # Every output is a shifted (and maybe mirrored) window of the zero-padded input.
    padded = np.pad(grad[..., 0], 4)
    windows = {padded[i:i + 8, j:j + 8].tobytes() for i in range(9) for j in range(9)}
    windows |= {padded[i:i + 8, j:j + 8][:, ::-1].tobytes() for i in range(9) for j in range(9)}
    assert all(o[..., 0].tobytes() in windows for o in out)
    with pytest.raises(ValueError, match="Unknown padding 'wrap'"):
        hk.data.batch_pad_crop_flip(same, np.array([0, 1]), padding="wrap")


def test_determinism(bundled, fashion_tree):
    kw = dict(batch_size=16, source="bundled", augment=True, seed=3, input_shape=(32, 32, 3),
              train_fraction=0.02)
    a = next(iter(hk.data.load("fashion_mnist", **kw)[0]))
    b = next(iter(hk.data.load("fashion_mnist", **kw)[0]))
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    assert a[0].shape == (16, 32, 32, 3) and a[0].dtype.name == "float32"
    assert a[1].dtype.name == "int32"
    c = next(iter(hk.data.load("fashion_mnist", **{**kw, "seed": 4})[0]))
    assert not np.array_equal(a[0].numpy(), c[0].numpy())
    # Without shuffling, a second epoch draws new crops/flips; a fresh pipeline repeats epoch 1.
    x, y = bundled["x_train"][:16], bundled["y_train"][:16]
    ds = hk.data.from_arrays(x, y, fashion_tree, batch_size=16, augment=True, seed=1)
    e1, e2 = (next(iter(ds))[0].numpy() for _ in range(2))
    again = next(iter(hk.data.from_arrays(x, y, fashion_tree, batch_size=16, augment=True,
                                          seed=1)))[0].numpy()
    assert not np.array_equal(e1, e2)
    np.testing.assert_array_equal(e1, again)
    plain = next(iter(hk.data.from_arrays(x, y, fashion_tree, batch_size=16)))
    np.testing.assert_array_equal(plain[0].numpy(), x.astype(np.float32))


def test_train_fraction_and_resize_cache(bundled, fashion_tree):
    train, _, info = hk.data.load("fashion_mnist", source="bundled", train_fraction=0.05,
                                  batch_size=500, return_info=True, shuffle=False)
    assert info["train_size"] == 500
    y = np.concatenate([yb.numpy() for _, yb in train])
    assert np.bincount(y[:, 2]).tolist() == [50] * 10
    # Resizing pipelines cache the resized images; both passes agree.
    ds = hk.data.from_arrays(bundled["x_train"][:8], bundled["y_train"][:8], fashion_tree,
                             batch_size=8, input_shape=(20, 20, 1))
    first, second = (next(iter(ds))[0].numpy() for _ in range(2))
    assert first.shape == (8, 20, 20, 1)
    np.testing.assert_array_equal(first, second)
    with pytest.raises(ValueError, match=r"train_fraction must lie in \(0, 1\]"):
        hk.data.load("fashion_mnist", source="bundled", train_fraction=0)


def test_load_with_model_preprocessing():
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", input_shape=(32, 32, 3),
                                                  **hk.models.HierarchicalModel.tiny_overrides)
    train, test, info = hk.data.load("fashion_mnist", batch_size=8, source="bundled",
                                     preprocessing=model.preprocessing, return_info=True)
    x, y = next(iter(test))
    assert x.shape == (8, 32, 32, 3) and y.shape == (8, 3)
    assert info["train_size"] == 10000 and 60 < info["mean"][0] < 90
    assert len(info["mean"]) == len(info["std"]) == 3 and info["mean"][0] == info["mean"][2]
    assert info["source"] == "bundled" and info["hierarchy"].depth == 3
    mean, std = hk.data.compute_mean_std(np.array([[[[0, 10]]], [[[4, 10]]]], np.uint8))
    assert mean.tolist() == [2.0, 10.0] and std.tolist() == [2.0, 0.0]


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
    with pytest.raises(ValueError, match="integer class ids"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), [0.5], fashion_tree)
    with pytest.raises(ValueError, match=r"1-D finest-level ids or \(N, depth\) rows"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), np.zeros((1, 3, 1), int), fashion_tree)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), [0], fashion_tree, batch_size=0)
    with pytest.raises(ValueError, match="input_shape must be \\(height, width, channels\\)"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), [0], fashion_tree, input_shape=(32, 32))
    with pytest.raises(ValueError, match="Unknown padding 'edge'"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), [0], fashion_tree, padding="edge")
    with pytest.raises(ValueError, match="`preprocessing` must be a dict"):
        hk.data.from_arrays(np.zeros((1, 28, 28)), [0], fashion_tree, preprocessing=(32, 32, 3))
    with pytest.raises(ValueError, match="is not a folder"):
        hk.data.load_arrays("fashion_mnist", data_dir="/nonexistent/fashion")
    with pytest.raises(ValueError, match="Unknown source 'web'"):
        hk.data.load_arrays("fashion_mnist", source="web")
    with pytest.raises(ValueError, match="truncated"):
        hk.data.read_idx(_truncated_idx())


def _truncated_idx():
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "t-idx1-ubyte")
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    return path


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
    # Without coarse_fraction the rest is coarse-only: 9 per class at 0.5 keeps all 9
    # (rounding each share separately would give 4 + 4 and drop one image per class).
    nine = fashion_tree.complete(np.repeat(np.arange(10), 9))
    _, fine9, keep9 = hk.data.partial_labels(nine, fashion_tree, 0.5)
    assert keep9.all() and fine9.sum() == 40
    x = bundled["x_train"][keep]
    ds = hk.data.ratio_batches(x, out[keep], is_fine[keep], batch_size=60)
    for xb, yb in ds.take(5):
        assert xb.shape == (60, 28, 28, 1)
        assert int((yb.numpy()[:, 2] >= 0).sum()) == 10  # 1000 : 5000 = 10 : 50
        assert (yb.numpy()[:10, 2] >= 0).all()  # fine-labelled ones first
    # is_fine inferred from the labels; one pass of the larger set; shaping + augmentation.
    small = np.flatnonzero(keep)[:700]
    ds = hk.data.ratio_batches(bundled["x_train"][small], out[small], batch_size=70,
                               repeat=False, augment=True, input_shape=(32, 32, 3), seed=2)
    n_fine = int(is_fine[small].sum())
    k = round(70 * n_fine / 700)
    batches = [yb.numpy() for _, yb in ds]
    assert len(batches) == int(np.ceil((700 - n_fine) / (70 - k)))
    assert all(len(b) == 70 and int((b[:, 1] >= 0).sum()) == k for b in batches)
    xb = next(iter(ds))[0]
    assert xb.shape == (70, 32, 32, 3)
    with pytest.raises(ValueError, match="Pass the batch size as `batch_size=`"):
        hk.data.ratio_batches(x, out[keep], 64)
    with pytest.raises(ValueError, match="boolean mask of shape"):
        hk.data.ratio_batches(x, out[keep], is_fine[:3])
    with pytest.raises(ValueError, match=r"labels must be \(N, depth\) rows"):
        hk.data.ratio_batches(x, out[keep][:5], is_fine[keep])


def _png_tree(root, paths):
    import tensorflow as tf

    for path in paths:
        d = root.joinpath(*path)
        d.mkdir(parents=True, exist_ok=True)
        tf.io.write_file(str(d / "0.png"), tf.io.encode_png(tf.zeros((6, 6, 3), tf.uint8)))


def test_image_folder_bad_files_and_empty_folders(tmp_path):
    _png_tree(tmp_path, [["A", "a1"], ["B"]])
    (tmp_path / "README.md").write_text("files next to the class folders are ignored")
    (tmp_path / "A" / "a1" / ".DS_Store").write_text("hidden files are skipped")
    _png_tree(tmp_path / ".cache", [["x"]])  # hidden folders too (as in from_folder)
    ds, tree = hk.data.image_folder(str(tmp_path), image_size=(8, 8), shuffle=False)
    assert tree.level_sizes == [2, 1] and sum(int(x.shape[0]) for x, _ in ds) == 2
    # A corrupt image: the error names its path.
    bad = tmp_path / "B" / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="Cannot read image file .*B/broken.png"):
        hk.data.image_folder(str(tmp_path), image_size=(8, 8))
    bad.unlink()
    # A file that is not an image (by extension) in a class folder.
    (tmp_path / "A" / "a1" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="a1/notes.txt' is not an image"):
        hk.data.image_folder(str(tmp_path), image_size=(8, 8))
    (tmp_path / "A" / "a1" / "notes.txt").unlink()
    # An empty class folder (a leaf with no images) is an error naming it.
    (tmp_path / "A" / "a2").mkdir()
    with pytest.raises(ValueError, match="Class folder .*A/a2' holds no images"):
        hk.data.image_folder(str(tmp_path), image_size=(8, 8))
    (tmp_path / "A" / "a2").rmdir()
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "B" / "locked.png"
        locked.write_bytes((tmp_path / "B" / "0.png").read_bytes())
        locked.chmod(0)
        with pytest.raises(ValueError, match="B/locked.png"):
            hk.data.image_folder(str(tmp_path), image_size=(8, 8))
        locked.chmod(0o644)
    with pytest.raises(ValueError, match="does not exist"):
        hk.data.read_images([str(tmp_path / "missing.png")], (8, 8, 3))


@pytest.mark.parametrize("limit", [-5, 0, 2.5, "10", True])
def test_train_limit_is_validated(limit):
    with pytest.raises(ValueError, match=f"train_limit must be an int >= 1.*{limit!r}"):
        hk.data.load("fashion_mnist", source="bundled", train_limit=limit)


def test_train_limit_keeps_the_first_images():
    _, _, info = hk.data.load("fashion_mnist", source="bundled", train_limit=7,
                              return_info=True)
    assert info["train_size"] == 7
    _, _, info = hk.data.load("fashion_mnist", source="bundled", train_limit=np.int64(3),
                              return_info=True)
    assert info["train_size"] == 3


class _RunsCode:
    """Pickles into a call of os.system: what a malicious "dataset" file holds."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar100_pickles_are_unpickled_restricted(tmp_path):
    legit = tmp_path / "legit"
    d = {b"batch_label": b"testing batch 1 of 1", b"filenames": [b"a.png", b"b.png"],
         b"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251,
         b"fine_labels": [4, 30], b"coarse_labels": [0, 0]}
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        legit.write_bytes(pickle.dumps(d, protocol=protocol))
        x, fine, _ = c100.read_pickle_split(str(legit))
        assert x.shape == (2, 32, 32, 3) and fine.tolist() == [4, 30]
        assert x[0, 0, 1, 2] == d[b"data"][0, 2 * 1024 + 1]
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil"
    for payload in (_RunsCode(marker), {b"data": _RunsCode(marker)}):
        evil.write_bytes(pickle.dumps(payload))
        with pytest.raises(ValueError, match="Refusing to load .*evil.*posix.system|"
                                             "Refusing to load .*evil.*os.system"):
            c100.read_pickle_split(str(evil))
        assert not marker.exists()
    # Any other global is refused too (a class of this test module, a builtin like eval).
    evil.write_bytes(pickle.dumps({b"data": _png_tree}))
    with pytest.raises(ValueError, match="is not allowed"):
        c100.read_pickle_split(str(evil))
    evil.write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(ValueError, match="builtins.eval' is not allowed"):
        c100.read_pickle_split(str(evil))
    (tmp_path / "garbage").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="garbage.*is not a CIFAR-100 pickle"):
        c100.read_pickle_split(str(tmp_path / "garbage"))
    with pytest.raises(ValueError, match="Cannot read the CIFAR-100 pickle .*missing"):
        c100.read_pickle_split(str(tmp_path / "missing"))
