"""Export a trained preset directory into `zoo/<name>` with its measured metrics and its
SavedModel, and regenerate `zoo/index.json` and the table in `zoo/README.md`.

The metrics are measured here, on the full Fashion-MNIST test set (when installed) and on
the bundled test split (what the zoo test re-measures with no download). Each entry also
gets `saved_model/` (`model.export`: raw float32 images in, `{level: probabilities}` out,
servable with `tf.saved_model.load` / TF Serving); its files' sha256s go into
`metadata.json` beside those of the config and the weights, and the export is checked to
predict what the Keras preset predicts.

    python benchmarks/export_zoo.py runs/cnnrnn_seed0 cnnrnn_small_fashion_mnist \
        --command "python benchmarks/cnnrnn_tables.py --train-limit 10000 --epochs 4 --seeds 3"

(Re)write only the SavedModel of existing entries (config, weights and metrics untouched):

    python benchmarks/export_zoo.py --saved-model-only cnnrnn_small_fashion_mnist \
        mergedcnn_small_fashion_mnist            # or --saved-model-only all
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

ZOO = harness.ROOT / "zoo"
SAVED_MODEL = "saved_model"
#: Largest |Keras - SavedModel| probability difference accepted at export time.
EXPORT_ATOL = 1e-5
KEYS = ["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match", "consistency", "hF1"]


def measure(model, source):
    d = harness.load_data(source)
    res = harness.evaluate_row(model, (d["x_test"], d["y_test"]))
    return {k: round(float(v), 4) for k, v in res.items() if v == v}, d["source"], len(d["x_test"])


def export_saved_model(model, target: Path) -> dict:
    """Write `target/saved_model` and check it against the Keras model on bundled images.

    Returns the `serving` metadata: endpoint, input spec, output names and the largest
    probability difference measured on 256 bundled test images.
    """
    import numpy as np
    import tensorflow as tf

    import hier_keras as hk

    out = target / SAVED_MODEL
    if out.exists():
        shutil.rmtree(out)
    model.export(str(out))
    images = model.check_images(hk.data.load_arrays("fashion_mnist", source="bundled")
                                ["x_test"][:256])
    loaded = tf.saved_model.load(str(out))  # keep a reference: its variables die with it
    served = loaded.serve(tf.constant(images))
    ref = model.predict(images, batch_size=256, verbose=0)
    diff = max(float(np.max(np.abs(np.asarray(served[k]) - ref[k]))) for k in ref)
    if diff > EXPORT_ATOL:
        raise RuntimeError(f"SavedModel of {target.name} differs from the Keras model by {diff}.")
    return {"endpoint": "serve", "input": {"dtype": "float32",
                                          "shape": [None] + list(model.image_shape),
                                          "units": "raw pixels (normalised inside the model)"},
            "outputs": sorted(ref), "max_abs_diff_vs_keras": diff}


def add_saved_model(name):
    """Export the SavedModel of an existing zoo entry and record its sha256s.

    Config, weights and metrics stay as they are; the weights' checksums are verified
    first, and `metadata.json` gains the `saved_model/...` checksums and `serving`.
    """
    from hier_keras import presets as preset_io
    from hier_keras.presets import load_preset

    target = ZOO / name
    model = load_preset(target)
    serving = export_saved_model(model, target)
    meta_path = target / preset_io.METADATA_FILE
    meta = json.loads(meta_path.read_text())
    files = {k: v for k, v in meta["files"].items() if not k.startswith(SAVED_MODEL + "/")}
    for path in sorted((target / SAVED_MODEL).rglob("*")):
        if path.is_file():
            files[str(path.relative_to(target))] = preset_io.sha256_file(path)
    meta["files"] = files
    meta["serving"] = serving
    meta_path.write_text(json.dumps(meta, indent=1))
    preset_io.verify_preset_dir(target)
    return serving


def write_index():
    rows = []
    for d in sorted(ZOO.iterdir()):
        meta_path = d / "metadata.json"
        if d.name.startswith(".") or not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
        rows.append({
            "name": d.name, "family": meta.get("family"), "dataset": meta.get("dataset"),
            "metrics": meta.get("metrics", {}), "parameters": meta.get("parameters"),
            "size_mb": round(size / 1e6, 2),
            "saved_model": any(f.startswith(SAVED_MODEL + "/") for f in meta.get("files", {})),
            "command": meta.get("command", ""),
            "date": meta.get("date"),
        })
    (ZOO / "index.json").write_text(json.dumps(rows, indent=1))
    lines = ["# zoo", "", "Trained presets; load any of them with `Family.from_preset(name)` "
             "(no network; sha256 checked). Generated by `benchmarks/export_zoo.py`.", "",
             "| preset | family | dataset | " + " | ".join(KEYS) +
             " | parameters | size (MB) | SavedModel | command | date |",
             "|" + "---|" * (len(KEYS) + 8)]
    for r in rows:
        m = r["metrics"]
        vals = " | ".join(f"{100 * m[k]:.2f}" if k in m else "-" for k in KEYS)
        lines.append(f"| {r['name']} | {r['family']} | {r['dataset']} | {vals} | "
                     f"{r['parameters']:,} | {r['size_mb']} | {'yes' if r['saved_model'] else '-'} | "
                     f"`{r['command']}` | {r['date']} |")
    lines += ["", "Metrics: full Fashion-MNIST test set (10,000 images), in %. The zoo test "
              "re-measures each entry on the bundled test split against `metrics_bundled`.",
              "Size: the whole entry (Keras config + weights, and the SavedModel when there is "
              "one).", "", "Serving: `saved_model/` takes raw float32 images "
              "`(batch, height, width, channels)` and returns the per-level probabilities:", "",
              "```python", "import tensorflow as tf",
              "served = tf.saved_model.load(\"zoo/<preset>/saved_model\")",
              "probs = served.serve(tf.constant(images, tf.float32))  # {level: (batch, n)}",
              "```"]
    (ZOO / "README.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("preset_dir", nargs="?", help="the trained preset directory to export")
    p.add_argument("name", nargs="?", help="its zoo entry name")
    p.add_argument("--command", default=None, help="the command that trained the preset")
    p.add_argument("--note", default="")
    p.add_argument("--no-saved-model", action="store_true", help="skip `saved_model/`")
    p.add_argument("--saved-model-only", nargs="+", metavar="ENTRY", default=None,
                   help="only (re)export the SavedModel of these zoo entries ('all': every one)")
    args = p.parse_args(argv)

    if args.saved_model_only:
        names = args.saved_model_only
        if names == ["all"]:
            names = sorted(d.name for d in ZOO.iterdir() if (d / "metadata.json").exists())
        unknown = [n for n in names if not (ZOO / n / "metadata.json").exists()]
        if unknown:
            raise SystemExit(f"Not zoo entries: {unknown}; the zoo has "
                             f"{sorted(d.name for d in ZOO.iterdir() if d.is_dir())}.")
        report = {n: add_saved_model(n) for n in names}
        write_index()
        print(json.dumps(report, indent=1))
        return
    if not (args.preset_dir and args.name and args.command):
        p.error("give PRESET_DIR NAME --command ... (or --saved-model-only ENTRY ...)")

    from hier_keras.presets import load_preset

    model = load_preset(args.preset_dir)
    full, full_source, n_full = measure(model, "auto")
    bundled, _, n_bundled = measure(model, "bundled")
    target = ZOO / args.name
    old_meta = json.loads((Path(args.preset_dir) / "metadata.json").read_text())
    # save_to_preset swaps the entry in atomically: a failed export leaves the old one.
    with tempfile.TemporaryDirectory(prefix=f".{args.name}.", dir=ZOO) as staging:
        staging = Path(staging)
        serving = None if args.no_saved_model else export_saved_model(model, staging)
        extra = {"serving": serving} if serving else {}
        model.save_to_preset(
            target, metrics=full, overwrite=True,
            saved_model=staging / SAVED_MODEL if serving else None,
            metrics_bundled=bundled, dataset="fashion_mnist",
            split=f"test ({full_source}, {n_full} images)",
            bundled_split=f"bundled test subset ({n_bundled} images)", command=args.command,
            training={k: old_meta.get(k) for k in ("epochs", "steps", "seed", "data_source",
                                                    "label_fractions", "coarse_loss_weight")
                      if k in old_meta},
            note=args.note, tolerance=0.005, **extra)
    write_index()
    print(json.dumps({"full": full, "bundled": bundled}, indent=1))


if __name__ == "__main__":
    main()
