"""`hier-keras` command line: demo, train, tune, evaluate, predict, export, presets.

Examples:

    hier-keras demo                                  # the main job, < 5 min on a laptop CPU
    hier-keras presets
    hier-keras train --family HierarchicalCNN --preset small_fashion_mnist \
        --epochs 5 --output runs/small
    hier-keras train --family CNNRNN --strategy mirrored --mixed-precision --jit  # GPUs
    hier-keras train --family MinPoolNet --preset nin_fashion_mnist \
        --fine-fraction 0.1 --coarse-fraction 0.5   # 10% fine labels, 50% coarse-only
    hier-keras tune --family CNNRNN --trials 10 --epochs 2 --output runs/tune
    hier-keras evaluate runs/small/preset
    hier-keras predict runs/small/preset image1.png image2.png
    hier-keras export runs/small/preset serving/small

`train` is resumable: it keeps a checkpoint per epoch in `<output>/checkpoint`, so a
killed run started again with the same arguments goes on from its last finished epoch
(`<output>/history.json` lists the epochs each run trained).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hier_keras.cli.commands import (  # noqa: E402
    demo,
    evaluate,
    export,
    list_presets,
    predict,
    tune,
)
from hier_keras.cli.common import DEMO_FAMILY, DEMO_IMAGES, DEMO_PRESET, _get_family, _load  # noqa: E402,F401
from hier_keras.cli.train import train  # noqa: E402

def build_parser():
    parser = argparse.ArgumentParser(prog="hier-keras", description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
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
        p.add_argument("--strategy", default="default",
                       help="tf.distribute strategy: default (one device), mirrored (local "
                            "GPUs), multiworker (hosts from TF_CONFIG)")
        p.add_argument("--mixed-precision", action="store_true",
                       help="mixed_float16 compute (GPUs with tensor cores)")
        p.add_argument("--jit", action="store_true", help="XLA-compile the train step")
        p.add_argument("--backbone", default=None,
                       help="backbone instead of the preset's: a registered name "
                            "(hier-keras presets lists them), keras.applications.<Name> or "
                            "keras_hub:<preset or directory>")
        p.add_argument("--backbone-weights", default=None,
                       help="pretrained backbone weights: a local weights file, or imagenet "
                            "(keras.applications backbones; needs a network)")
        p.add_argument("--freeze-epochs", type=int, default=None,
                       help="fine-tune: train the heads this many epochs on the frozen "
                            "backbone, then everything at --backbone-lr-scale times the rate")
        p.add_argument("--backbone-lr-scale", type=float, default=0.1,
                       help="learning-rate factor once the backbone is unfrozen (default 0.1)")
        p.add_argument("--fine-fraction", type=float, default=None,
                       help="train with partial labels: share of each class that keeps its "
                            "fine label (S_fine); see --coarse-fraction")
        p.add_argument("--coarse-fraction", type=float, default=None,
                       help="share of each class whose finest label is hidden (S_coarse); "
                            "default: the rest of the training split")
        p.add_argument("--val-size", type=float, default=None,
                       help="share (< 1) or number of training images held out for validation; "
                            "default 0.1 for presets with a plateau schedule (MinPoolNet's "
                            "paper presets), else 0 (the test split is only watched); the "
                            "held-out images keep all their labels, whatever --fine-fraction")
        data_args(p)
        p.set_defaults(fn=fn)
    p = sub.add_parser("tune", help=tune.__doc__.split("\n")[0])
    p.add_argument("--family", default=DEMO_FAMILY)
    p.add_argument("--preset", default=None, help="default: the family's small Fashion-MNIST preset")
    p.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    p.add_argument("--objective", default="accuracy",
                   choices=["accuracy", "exact_match", "consistency", "loss"])
    p.add_argument("--level", default=None, help="level of --objective accuracy (default: finest)")
    p.add_argument("--batch-sizes", default="32,64,128")
    p.add_argument("--space", default=None,
                   help='JSON narrowing the search, e.g. \'{"units": [64, 128], '
                        '"learning_rate": {"min": 0.01, "max": 0.1}}\'')
    p.add_argument("--overrides", default=None, help="JSON constructor arguments fixed for all trials")
    p.add_argument("--train-limit", type=int, default=None, help="use at most N training images")
    p.add_argument("--val-size", type=float, default=0.1,
                   help="validation images held out of the training split (fraction or count)")
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--no-adapt", action="store_true", help="skip tuning the adaptation alpha")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="runs/tune")
    p.add_argument("--verbose", type=int, default=0)
    data_args(p)
    p.set_defaults(fn=tune)
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


#: Errors that are the user's to fix: one line on stderr, exit status 2 (--debug: traceback).
USER_ERRORS = (ValueError, TypeError, KeyError, OSError, ImportError)


def main(argv=None):
    args = build_parser().parse_args(argv)
    for name in ("epochs", "trials", "steps_per_epoch", "batch_size", "freeze_epochs"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "freeze_epochs" else 1):
            raise SystemExit(f"hier-keras: error: --{name.replace('_', '-')} must be >= "
                             f"{0 if name == 'freeze_epochs' else 1}; received {value}.")
    if args.debug:
        return args.fn(args)
    try:
        return args.fn(args)
    except USER_ERRORS as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"hier-keras: error: {message} (rerun with --debug for the traceback)",
              file=sys.stderr)
        raise SystemExit(2) from None
