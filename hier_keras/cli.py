"""`hier-keras` command line: demo, train, evaluate, predict, export, presets.

Examples:

    hier-keras demo                                  # the main job, < 5 min on a laptop CPU
    hier-keras presets
    hier-keras train --family HierarchicalCNN --preset small_fashion_mnist \
        --epochs 5 --output runs/small
    hier-keras evaluate runs/small/preset
    hier-keras predict runs/small/preset image1.png image2.png
    hier-keras export runs/small/preset serving/small
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEMO_FAMILY = "CNNRNN"
DEMO_PRESET = "small_fashion_mnist"
# The demo's budget: about this many training images seen (2 epochs of the full set,
# 12 of the bundled subset), which fits in 5 minutes on a 2-core CPU.
DEMO_IMAGES = 120_000


def _family(name):
    import hier_keras.models as models

    families = {n: getattr(models, n) for n in models.__all__
                if isinstance(getattr(models, n), type) and n != "HierarchicalModel"}
    if name not in families:
        raise SystemExit(f"Unknown family {name!r}; choose one of {sorted(families)}.")
    return families[name]


def _load_model(preset, family=None):
    from hier_keras.models import HierarchicalModel

    cls = _family(family) if family else HierarchicalModel
    if os.path.isdir(preset):
        from hier_keras.models.base import load_preset

        return load_preset(preset)
    if family is None:
        from hier_keras import presets as preset_io

        if preset in preset_io.zoo_entries():
            from hier_keras.models.base import load_preset

            return load_preset(preset_io.zoo_entries()[preset])
        raise SystemExit(f"{preset!r} is neither a preset directory nor a zoo entry; "
                         "pass --family to build a built-in preset.")
    return cls.from_preset(preset)


def train(args) -> dict:
    """Train a preset on a dataset, evaluate it, save it as a preset directory."""
    import numpy as np

    import hier_keras as hk
    from hier_keras.metrics import evaluate_model
    from hier_keras.training import fit_model

    family = _family(args.family)
    model = family.from_preset(args.preset, **json.loads(args.overrides or "{}"))
    cfg = model.training_config
    batch_size = args.batch_size or cfg.get("batch_size", 128)
    train_ds, test_ds, info = hk.data.load(
        args.dataset, batch_size=batch_size, augment=cfg.get("augment", True),
        preprocessing=model.preprocessing, hierarchy=model.hierarchy, source=args.source,
        data_dir=args.data_dir, seed=args.seed, return_info=True,
    )
    print(f"Data: {args.dataset} from {info['source']} "
          f"({info['train_size']} train / {info['test_size']} test images)")
    epochs = args.epochs or cfg.get("epochs", 10)
    if getattr(args, "budget_images", None) and not args.epochs:
        epochs = max(2, round(args.budget_images / info["train_size"]))
    history = fit_model(model, train_ds, epochs=epochs, validation_data=test_ds,
                        checkpoint_dir=os.path.join(args.output, "checkpoint"),
                        steps_per_epoch=args.steps_per_epoch, verbose=args.verbose)
    results = evaluate_model(model, test_ds)
    preset_dir = os.path.join(args.output, "preset")
    command = "hier-keras " + " ".join(sys.argv[1:]) if sys.argv else ""
    model.save_to_preset(preset_dir, metrics=results, dataset=args.dataset,
                         data_source=info["source"], split="test", command=command,
                         epochs=epochs, seed=args.seed)
    print(_format_results(results))
    print(f"Saved preset to {preset_dir}")
    del history, np
    return {"model": model, "results": results, "test_ds": test_ds, "preset_dir": preset_dir}


def _format_results(results):
    row = results.iloc[0] if hasattr(results, "iloc") else results
    lines = ["", "metric                 value", "-----------------------------"]
    for key, value in dict(row).items():
        lines.append(f"{key:<22} {100 * value:6.2f} %" if key != "mistake_severity" and value <= 1
                     else f"{key:<22} {value:8.3f}")
    return "\n".join(lines)


def demo(args):
    """The main job: train the default preset on Fashion-MNIST and show what it predicts."""
    import numpy as np

    start = time.time()
    args.family = args.family or DEMO_FAMILY
    args.preset = args.preset or DEMO_PRESET
    args.budget_images = DEMO_IMAGES
    out = train(args)
    model, test_ds = out["model"], out["test_ds"]
    images, labels = next(iter(test_ds.unbatch().batch(6)))
    images, labels = np.asarray(images), np.asarray(labels)
    print("\nA few test images:")
    for path, truth in zip(model.predict_paths(images), labels):
        shown = " > ".join(f"{name} ({p:.2f})" for name, p in path)
        true = " > ".join(model.hierarchy.path_names(truth))
        mark = "ok " if [n for n, _ in path] == model.hierarchy.path_names(truth) else "XX "
        print(f"  {mark}{shown:<60} true: {true}")
    print(f"\nDemo finished in {time.time() - start:.0f} s.")


def evaluate(args):
    import hier_keras as hk
    from hier_keras.metrics import evaluate_model

    model = _load_model(args.preset, args.family)
    _, test_ds = hk.data.load(args.dataset, batch_size=256, preprocessing=model.preprocessing,
                              hierarchy=model.hierarchy, source=args.source,
                              data_dir=args.data_dir, augment=False)
    results = evaluate_model(model, test_ds)
    print(_format_results(results))
    if args.csv:
        results.to_csv(args.csv, index=False)


def predict(args):
    import numpy as np

    from hier_keras.data import read_images

    model = _load_model(args.preset, args.family)
    images = read_images(args.images, model.preprocessing["input_shape"])
    for path, row in zip(args.images, model.predict_paths(np.asarray(images))):
        print(f"{path}: " + " > ".join(f"{n} ({p:.2f})" for n, p in row))


def export(args):
    model = _load_model(args.preset, args.family)
    model.export(args.output)
    print(f"SavedModel written to {args.output}")


def list_presets(args):
    import hier_keras.models as models
    from hier_keras import presets as preset_io

    for name in models.__all__:
        cls = getattr(models, name)
        if not isinstance(cls, type) or name == "HierarchicalModel":
            continue
        print(f"{name}:")
        for preset, entry in sorted(cls.presets.items()):
            print(f"  {preset:<32} {entry.get('description', '')}")
    zoo = preset_io.zoo_entries()
    if zoo:
        print("zoo (trained):")
        for preset, path in zoo.items():
            print(f"  {preset:<32} {path}")


def build_parser():
    parser = argparse.ArgumentParser(prog="hier-keras", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p):
        p.add_argument("--dataset", default="fashion_mnist", choices=["fashion_mnist", "cifar100"])
        p.add_argument("--source", default="auto",
                       help="auto (full data if installed, else bundled), full, bundled")
        p.add_argument("--data-dir", default=None)

    for name, fn in (("train", train), ("demo", demo)):
        p = sub.add_parser(name, help=fn.__doc__.split("\n")[0])
        p.add_argument("--family", default=None if name == "demo" else DEMO_FAMILY)
        p.add_argument("--preset", default=None if name == "demo" else DEMO_PRESET)
        p.add_argument("--epochs", type=int, default=None)
        p.add_argument("--batch-size", type=int, default=None)
        p.add_argument("--steps-per-epoch", type=int, default=None)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--output", default=f"runs/{name}")
        p.add_argument("--overrides", default=None, help='JSON constructor overrides, e.g. \'{"head": "single"}\'')
        p.add_argument("--verbose", type=int, default=1)
        data_args(p)
        p.set_defaults(fn=fn)
    p = sub.add_parser("evaluate", help="evaluate a preset on a test split")
    p.add_argument("preset")
    p.add_argument("--family", default=None)
    p.add_argument("--csv", default=None)
    data_args(p)
    p.set_defaults(fn=evaluate)
    p = sub.add_parser("predict", help="predict label paths of image files")
    p.add_argument("preset")
    p.add_argument("images", nargs="+")
    p.add_argument("--family", default=None)
    p.set_defaults(fn=predict)
    p = sub.add_parser("export", help="export a preset as a TF SavedModel")
    p.add_argument("preset")
    p.add_argument("output")
    p.add_argument("--family", default=None)
    p.set_defaults(fn=export)
    p = sub.add_parser("presets", help="list built-in presets and zoo entries")
    p.set_defaults(fn=list_presets)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
