"""Bad images and labels get an error that names the problem, before any graph runs."""

import numpy as np
import pytest

import hier_keras as hk


@pytest.fixture(scope="module")
def model():
    return hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                                 backbone_kwargs={"widths": [4, 8, 8]})


def test_images_scaled_to_unit_range_are_refused_with_the_fix(model):
    x = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1))
    with pytest.raises(ValueError, match="look scaled to \\[0, 1\\].*multiply them by 255"):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match="scaled to"):
        model.predict_paths(x)
    model.pixel_range = None  # the explicit opt-out
    try:
        assert model.predict(x, verbose=0)["fine"].shape == (2, 10)
    finally:
        model.pixel_range = (0.0, 255.0)


@pytest.mark.parametrize("bad, message", [
    (np.full((1, 28, 28, 1), np.nan), "NaN or infinite"),
    (np.full((1, 28, 28, 1), 300.0), "outside the range"),
    (np.zeros((0, 28, 28, 1)), "empty"),
    (np.zeros((1, 28, 28, 1), bool), "numeric"),
    (np.zeros((1, 32, 32, 1)), "shape"),
])
def test_bad_image_batches(model, bad, message):
    with pytest.raises(ValueError, match=message):
        model.predict(bad, verbose=0)


def test_uint8_images_and_gray_without_channel_axis_are_accepted(model):
    x = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    assert model.predict(x, verbose=0)["fine"].shape == (2, 10)


def test_labels_as_names_are_mapped_and_all_unknown_batches_refused(model):
    x = np.random.default_rng(0).uniform(0, 255, (2, 28, 28, 1))
    model.compile(total_steps=1)
    names = np.array([["Goods", "Shoes", "Sneaker"], ["Clothes", "Tops", None]], dtype=object)
    model.fit(x, names, epochs=1, verbose=0)  # ids [[1, 5, 7], [0, 0, -1]]
    with pytest.raises(ValueError, match="No class named .Hats. at level 1"):
        model.fit(x, np.array([["Goods", "Hats", None]] * 2, dtype=object), verbose=0)
    with pytest.raises(ValueError, match="Every label is unknown"):
        model.fit(x, np.full((2, 3), -1), verbose=0)
    with pytest.raises(ValueError, match="parent"):
        model.evaluate(x, np.array([[0, 5, 9], [0, 5, 9]]), verbose=0)
    assert model.get_config()["pixel_range"] == [0.0, 255.0]
