"""The package's public surface and layering (docs/ARCHITECTURE.md), checked."""

import ast
import inspect
import pathlib
import subprocess
import sys

import keras
import pytest

import hier_keras as hk

PACKAGE = pathlib.Path(hk.__file__).resolve().parent

#: Layers of the package, lowest first; a module may import its own layer or lower ones.
LAYERS = [
    {"hierarchy", "outputs", "paths", "losses", "metrics", "optimizers"},
    {"data"},
    {"layers"},
    {"backbones"},
    {"models", "presets"},
    {"training"},
    {"tuning", "cli"},
]


def _layer_of(top):
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    return None


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("zoo",):
            continue
        yield rel, ast.parse(path.read_text())


def _imported_tops(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hier_keras."):
            yield node.module.split(".")[1], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "hier_keras":
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hier_keras."):
                    yield alias.name.split(".")[1], node.lineno


def test_no_import_from_a_lower_layer_to_a_higher_one():
    bad = []
    for rel, tree in _modules():
        if rel.name == "__init__.py" and len(rel.parts) == 1:
            continue  # the package root gathers everything
        own = _layer_of(rel.parts[0].removesuffix(".py"))
        assert own is not None, f"{rel} is in no layer of docs/ARCHITECTURE.md"
        for top, line in _imported_tops(tree):
            other = _layer_of(top)
            if other is not None and other > own:
                bad.append(f"{rel}:{line} imports hier_keras.{top}")
    assert not bad, "\n".join(bad)


def test_hierarchy_from_dict_only_inside_hierarchy_module():
    calls = []
    for rel, tree in _modules():
        if rel.parts[0] == "hierarchy":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "from_dict" and \
                    getattr(node.value, "id", None) == "Hierarchy":
                calls.append(f"{rel}:{node.lineno}")
    assert not calls, calls


def test_modules_stay_small():
    # "About 500 lines"; one paper section may run longer (Zuo et al.'s spatial RNNs).
    allowed = {pathlib.Path("layers/spatial_rnn.py")}
    long = [f"{rel}: {len((PACKAGE / rel).read_text().splitlines())} lines"
            for rel, _ in _modules()
            if len((PACKAGE / rel).read_text().splitlines()) > 520 and rel not in allowed]
    assert not long, long


def _custom_layer_classes():
    found = {}
    for path in sorted((PACKAGE / "layers").glob("*.py")):
        module = __import__(f"hier_keras.layers.{path.stem}", fromlist=["_"])
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, keras.layers.Layer)
                    and obj.__module__ == module.__name__ and not name.startswith("_")):
                found[name] = obj
    return found


def test_every_custom_layer_is_exported_from_hk_layers():
    layers = _custom_layer_classes()
    assert {"ClassifierAdaptation", "ChildMinPooling", "ClassWiseGlobalAveragePooling",
            "SpatialRNN2D", "HierarchicalRNN2D", "SpatialPyramidPooling",
            "VisualLSTMCell"} <= set(layers)
    for name, cls in layers.items():
        assert getattr(hk.layers, name) is cls
        assert name in hk.layers.__all__


def test_every_family_is_listed_and_registered():
    families = hk.models.list_families()
    assert families == ["CHRNN", "CNNRNN", "DHNN", "Ensemble", "HierarchicalCNN", "MergedCNN",
                        "MinPoolNet"]
    for name in families:
        cls = hk.models.get_family(name)
        assert getattr(hk.models, name) is cls and name in hk.models.__all__
        assert keras.saving.get_registered_object(f"hier_keras>{name}") is cls
    with pytest.raises(ValueError, match="Did you mean 'CNNRNN'"):
        hk.models.get_family("CNNRN")


@pytest.mark.parametrize("dotted", [
    "hk.Hierarchy.coerce", "hk.Hierarchy.get", "hk.backbones.Backbone",
    "hk.backbones.list_backbones", "hk.backbones.register_backbone",
    "hk.data.load", "hk.layers.ClassifierAdaptation", "hk.layers.SpatialRNN2D",
    "hk.metrics.evaluate", "hk.metrics.evaluate_model", "hk.models.CNNRNN.from_preset",
    "hk.models.Ensemble", "hk.models.get_family", "hk.models.list_families",
    "hk.optimizers.TrainingConfig", "hk.paths.argmax_paths", "hk.presets.list_presets",
    "hk.training.fit_model", "hk.training.tune_alpha", "hk.training.AlternatingTraining",
    "hk.training.ResumablePlateau", "hk.training.pseudo_label_fit",
    "hk.tuning.tune", "hk.tuning.get_hypermodel",
])
def test_names_the_readme_and_design_card_use(dotted):
    obj = hk
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    assert obj is not None


def test_tuning_is_imported_lazily():
    code = ("import sys, hier_keras as hk; assert 'keras_tuner' not in sys.modules; "
            "hk.tuning.tune; assert 'keras_tuner' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.strip().endswith("ok"), out.stderr[-2000:]
