"""Guo et al. 2018, Table 4 on CIFAR-100 (GPU scale): coarse-specific, fine-specific, CNN-RNN.

Trains the paper presets (`wrn28_10`, `wider_resnet`, `cnn7`) with their step
schedules (batch 200, 70k iterations), optionally with mixed precision, XLA
and a `tf.distribute` strategy, and writes the final-step test accuracies to
`benchmarks/results/guo_table4_cifar100<tag>.csv/.md`.

GPU run (one GPU, ~hours per model for wrn28_10):

    python benchmarks/guo_table4_cifar100.py --backbone wrn28_10 --mixed-precision --jit

CPU smoke test on mock data (what the test suite runs):

    python benchmarks/guo_table4_cifar100.py --backbone wrn28_10 --mock --steps 2 \
        --batch-size 4 --tiny --tag _smoke

Also: `--dataset fashion_mnist` trains the same presets on Fashion-MNIST padded
to 32x32x3 (what we run when a GPU is lent to a session).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

MODELS = {
    "coarse_specific": ("HierarchicalCNN", {"head": "single", "level": 0}),
    "fine_specific": ("HierarchicalCNN", {"head": "single"}),
    "cnn_rnn": ("CNNRNN", {}),
}


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=0, seeds=1)
    p.add_argument("--backbone", default="wrn28_10", choices=["wrn28_10", "wider_resnet", "cnn7"])
    p.add_argument("--models", default="coarse_specific,fine_specific,cnn_rnn")
    p.add_argument("--dataset", default="cifar100", choices=["cifar100", "fashion_mnist"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (preset: 70000)")
    p.add_argument("--mixed-precision", action="store_true")
    p.add_argument("--jit", action="store_true", help="XLA-compile the train step")
    p.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"])
    p.add_argument("--mock", action="store_true", help="random CIFAR-shaped data (smoke test)")
    p.add_argument("--tiny", action="store_true", help="shrink the backbone (smoke test)")
    p.add_argument("--checkpoint-dir", default="runs/guo_table4")
    args = p.parse_args(argv)

    import keras
    import numpy as np
    import pandas as pd

    import hier_keras as hk
    from hier_keras.training.distribute import prepare_model, strategy_from_name

    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    strategy = strategy_from_name(args.strategy)
    tree = hk.Hierarchy.cifar100() if args.dataset == "cifar100" else hk.Hierarchy.fashion_mnist()

    def batch_of(model):
        cfg = model.training_config
        return args.batch_size if args.batch_size != 128 else cfg["batch_size"]

    def data(model):
        """Train (repeated: the schedule runs by optimizer steps) and test pipelines."""
        batch = batch_of(model)
        if args.mock:
            rng = np.random.default_rng(0)
            x = rng.integers(0, 255, (max(batch * 2, 8), 32, 32, 3)).astype("uint8")
            y = tree.leaf_paths()[rng.integers(0, len(tree.leaf_paths()), len(x))]
            train = hk.data.from_arrays(x, y, tree, batch_size=batch, shuffle=True,
                                        augment=True, preprocessing=model.preprocessing)
            test = hk.data.from_arrays(x, y, tree, batch_size=batch,
                                       preprocessing=model.preprocessing)
            source = "mock"
        else:
            train, test, info = hk.data.load(
                args.dataset, batch_size=batch, augment=True, preprocessing=model.preprocessing,
                hierarchy=tree, data_dir=args.data_dir, return_info=True,
                source=args.source if args.dataset == "fashion_mnist" else "auto")
            source = info["source"]
        sources.append(source)
        return train.repeat(), test

    rows, sources = [], []
    for key in args.models.split(","):
        family_name, overrides = MODELS[key]
        family = getattr(hk.models, family_name)
        if args.tiny:
            overrides = dict(overrides, **family.tiny_overrides)
        # Steps in "epochs" of 1000 (or fewer), each checkpointed (a killed run resumes).
        row, model = harness.train_and_evaluate(
            lambda: prepare_model(family.from_preset(args.backbone, hierarchy=tree, **overrides),
                                  strategy),
            data, seed=0, steps=args.steps, verbose=args.verbose, scope=strategy,
            checkpoint_dir=os.path.join(args.checkpoint_dir, f"{args.backbone}_{key}"),
            compile_kwargs={"jit_compile": args.jit})
        rows.append({"backbone": args.backbone, "model": key, "dataset": args.dataset,
                     "source": sources[-1],
                     "steps": args.steps or model.training_config["steps"],
                     "batch": batch_of(model), **row})
    df = pd.DataFrame(rows)
    harness.write_results(f"guo_table4_{args.dataset}{args.tag}", df, harness.to_markdown(df),
                          harness.command_line(__file__, argv),
                          notes="Final-step test accuracy (no checkpoint picked on the test set).")


if __name__ == "__main__":
    main()
