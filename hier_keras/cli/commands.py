"""`hier-keras` demo, tune, evaluate, predict, export and presets."""

from __future__ import annotations

import json
import os
import sys
import time

from hier_keras.cli.common import DEMO_FAMILY, DEMO_IMAGES, DEMO_PRESET, _format_results, _load
from hier_keras.cli.train import train

def tune(args) -> dict:
    """Search a family's hyperparameters with keras-tuner, then tune classifier adaptation."""
    import numpy as np

    import hier_keras as hk
    from hier_keras import tuning
    from hier_keras.metrics import evaluate_model

    try:  # an unknown or untunable family is refused before any data is loaded
        tuning.search_space_module(args.family)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    data = hk.data.load_arrays(args.dataset, data_dir=args.data_dir, source=args.source)
    x, y = data["x_train"], data["y_train"]
    order = np.random.default_rng(args.seed).permutation(len(x))
    n_val = int(args.val_size if args.val_size >= 1 else round(args.val_size * len(x)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if args.train_limit is not None:
        try:
            train_idx = train_idx[:hk.data.pipeline.check_train_limit(args.train_limit)]
        except ValueError as err:
            raise SystemExit(str(err)) from None
    print(f"Data: {args.dataset} from {data['source']} ({len(train_idx)} train / "
          f"{len(val_idx)} validation images held out of the training split; "
          f"{len(data['x_test'])} test images kept out of the search)")
    try:
        result = tuning.tune(
            args.family, (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]),
            preset=args.preset, tuner=args.tuner, max_trials=args.trials, epochs=args.epochs,
            objective=tuning.objective_for(data["hierarchy"], args.objective, args.level),
            adapt_alpha=not args.no_adapt, directory=os.path.join(args.output, "search"),
            seed=args.seed, steps_per_epoch=args.steps_per_epoch,
            overrides=json.loads(args.overrides or "{}"), space=json.loads(args.space or "{}"),
            batch_sizes=[int(b) for b in args.batch_sizes.split(",")], verbose=args.verbose)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    test = evaluate_model(result.model, (data["x_test"], data["y_test"]))
    os.makedirs(args.output, exist_ok=True)
    result.trials.to_csv(os.path.join(args.output, "trials.csv"), index=False)
    alpha = None
    if result.alpha is not None:
        alpha = {k: float(v) for k, v in result.alpha.best.items()}
    best_dir = os.path.join(args.output, "best")
    command = "hier-keras " + " ".join(sys.argv[1:]) if sys.argv else ""
    result.model.save_to_preset(
        best_dir, metrics=test, overwrite=True, dataset=args.dataset, data_source=data["source"], split="test",
        command=command, hyperparameters=result.hyperparameters, objective=result.objective,
        validation=result.validation.iloc[0].to_dict(), alpha=alpha, adapted=result.adapted,
        trials=len(result.trials))
    print(result.trials.to_string(index=False))
    print(f"\nBest hyperparameters ({result.objective}): {json.dumps(result.hyperparameters)}")
    if alpha is not None:
        print(f"Classifier adaptation alpha per level: {alpha} "
              f"({'kept' if result.adapted else 'not kept: no gain'} on the validation split)")
    print(_format_results(test))
    print(f"Saved the best model to {best_dir}")
    return {"result": result, "test": test, "preset_dir": best_dir}


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

    model = _load(args.preset, args.family)
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

    model = _load(args.preset, args.family)
    images = read_images(args.images, model.preprocessing["input_shape"])
    for path, row in zip(args.images, model.predict_paths(np.asarray(images))):
        print(f"{path}: " + " > ".join(f"{n} ({p:.2f})" for n, p in row))


def export(args):
    model = _load(args.preset, args.family)
    model.export(args.output)
    print(f"SavedModel written to {args.output}")


def list_presets(args):
    """Print `hier_keras.presets.list_presets()`: each family's built-in presets, then the zoo."""
    from hier_keras import presets

    rows = presets.list_presets()
    family = None
    for row in (r for r in rows if r["kind"] == "architecture"):
        if row["family"] != family:
            family = row["family"]
            print(f"{family}:")
        print(f"  {row['name']:<32} {row['description']}")
    zoo = [r for r in rows if r["kind"] == "zoo"]
    if zoo:
        print("zoo (trained):")
        for row in zoo:
            print(f"  {row['name']:<32} {row['description']}")
