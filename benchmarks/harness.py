"""The benchmark harness: the one implementation every script in `benchmarks/` uses.

- **Seeded runs** (`train_and_evaluate`): set the seeds, build the model, fit it with its
  preset's optimizer and decaying schedule (`hier_keras.training.fit_model`), evaluate it
  (`hier_keras.metrics.evaluate_model`) and return a row dict.
- **Interleaved timing** (`time_interleaved`): several callables timed side by side, calls
  interleaved round-robin so that load drifts on a shared machine hit every candidate
  alike; medians per call and ratios to a baseline.
- **Peak memory** (`peak_memory`): the peak-RSS growth of a callable, measured in a fresh
  subprocess (the CPU has no allocator statistics; a fresh process is not polluted by
  what ran before).
- **Result files** (`write_results`): `results/<name>.csv`, `results/<name>.md` (the
  command, the notes and the markdown tables) and the JSON sidecar `results/<name>.json`;
  `read_result(name)` reads the sidecar back.

The sidecar (what the notebooks read with `json.load`) is one JSON object:

    {
      "name":    "flat_baselines",                 # the file stem, = <name>.csv / .md
      "command": "python benchmarks/flat_baselines.py --epochs 6 --seeds 3",
      "date":    "2024-05-01",                     # ISO date the result was written
      "columns": ["model", "seed", ...],           # the CSV's columns, in order
      "rows":    [["parallel", 0, ...], ...],      # one list per CSV row, in column order
      "notes":   "..."                             # markdown: the .md after its command
    }

`rows` hold the CSV's values (numbers as numbers, missing values as `null`), so
`pandas.DataFrame(sidecar["rows"], columns=sidecar["columns"])` is the table, and
`dict(zip(sidecar["columns"], row))` one run. Companion
tables of a result (e.g. `mergedcnn_alpha.csv` beside `mergedcnn.md`) get their own
sidecar of the same form, whose notes point at the main table. `command` is the command
line, relative to the repository root, that wrote the files.

    import harness
    row, model = harness.train_and_evaluate(lambda: Family.from_preset("..."), data,
                                            seed=0, epochs=2)
    timing = harness.time_interleaved({"a": fa, "b": fb}, repeats=7)   # timing.ratios["b"]
    growth = harness.peak_memory("chrnn:train_step", preset="small_fashion_mnist")
    harness.write_results("name", df, markdown, command=harness.command_line(__file__, argv))
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


# ====================================================================== command line
def base_parser(description, epochs=8, seeds=3):
    """The flags every training benchmark shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seeds", type=int, default=seeds, help="number of seeds (0..n-1)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--source", default="full", help="full (Debian Fashion-MNIST) or bundled")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N train images")
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--tag", default="", help="suffix of the result files")
    p.add_argument("--verbose", type=int, default=0)
    return p


def command_line(script, argv=None) -> str:
    """`python <script relative to the repository root> <argv>` (argv: `sys.argv[1:]`)."""
    path = Path(script).resolve()
    try:
        path = path.relative_to(ROOT)
    except ValueError:
        pass
    argv = sys.argv[1:] if argv is None else list(argv)
    return "python " + " ".join(shlex.quote(str(a)) for a in [path.as_posix(), *argv])


# ====================================================================== data
def load_data(source="full", train_limit=None):
    """Fashion-MNIST arrays (`hk.data.load_arrays`), the train split cut to `train_limit`."""
    import hier_keras as hk

    data = hk.data.load_arrays("fashion_mnist", source=source)
    if train_limit:
        data["x_train"] = data["x_train"][:train_limit]
        data["y_train"] = data["y_train"][:train_limit]
    return data


def datasets(data, model, batch_size, seed):
    """tf.data train (shuffled, augmented as the preset says, seeded) and test pipelines."""
    import hier_keras as hk

    pre = model.preprocessing
    train = hk.data.from_arrays(data["x_train"], data["y_train"], model.hierarchy,
                                batch_size=batch_size, shuffle=True,
                                augment=pre.get("augment", True), seed=seed, preprocessing=pre)
    test = hk.data.from_arrays(data["x_test"], data["y_test"], model.hierarchy, batch_size=512,
                               shuffle=False, augment=False, preprocessing=pre)
    return train, test


# ====================================================================== seeded runs
def evaluate_row(model, test, batch_size=256) -> dict:
    """`hk.metrics.evaluate_model` as a dict (test: a tf.data dataset or `(x, y)` arrays)."""
    from hier_keras.metrics import evaluate_model

    return evaluate_model(model, test, batch_size=batch_size).iloc[0].to_dict()


def train_and_evaluate(build, data, *, seed, epochs=None, steps=None, batch_size=128,
                       steps_per_epoch=None, verbose=0, evaluate=True, compile=None,
                       scope=None, **fit_kwargs):
    """One seeded training run: seed, build, fit with the preset schedule, evaluate.

    Args:
        build: `() -> model`, called right after `keras.utils.set_random_seed(seed)`.
        data: the train and test data, one of
            - a `load_data` dict: tf.data pipelines built for the model (`datasets`);
            - a callable `model -> (train, test)` (ratio batches, mock data, ...);
            - `((x, y), test)`: Keras' own shuffled batches of `batch_size` over arrays.
            `test` (a dataset or `(x, y)` arrays) may be None when nothing is evaluated.
        seed: the seed of keras, numpy, Python and the train pipeline.
        epochs: passes over the train data (of `steps_per_epoch` batches when given).
        steps: instead of `epochs`, optimizer steps in epochs of `steps_per_epoch` (default
            `min(1000, steps)`); None with `epochs=None`: the preset's `training_config["steps"]`.
        evaluate: True: `evaluate_model` on `test`; a callable `model -> dict` for other
            metrics; False: no evaluation.
        compile: None: `fit_model` compiles the model with its preset's schedule over the
            run's steps; a callable `(model, total_steps)` for models without one (plain
            Keras models).
        scope: a `tf.distribute` strategy: build, compile and fit in its scope.
        **fit_kwargs: passed to `fit_model` (`callbacks`, `checkpoint_dir`, `compile_kwargs`).

    Returns:
        `(row, model)`: row = `{"train_seconds": ..., **metrics}` (seconds of `fit` only).
    """
    import contextlib

    import keras

    from hier_keras.training import fit_model, steps_in

    with scope.scope() if scope is not None else contextlib.nullcontext():
        keras.utils.set_random_seed(seed)
        model = build()
        if isinstance(data, dict):
            train, test = datasets(data, model, batch_size, seed)
        elif callable(data):
            train, test = data(model)
        else:
            train, test = data
        if epochs is None:
            steps = model.training_config["steps"] if steps is None else steps
            if steps < 1:
                raise ValueError(f"A run needs at least one optimizer step; got steps={steps}.")
            steps_per_epoch = steps_per_epoch or min(1000, steps)
            epochs = steps // steps_per_epoch
        if isinstance(train, tuple):  # arrays: Keras shuffles and batches them
            x, y = train
            fit_kwargs.update(y=y, batch_size=batch_size, shuffle=True)
            train, per_epoch = x, math.ceil(len(x) / batch_size)
        else:
            per_epoch = steps_per_epoch or steps_in(train)
        total = epochs * per_epoch if per_epoch else None
        # fit_model counts the steps of datasets only: arrays and custom compiles are compiled here.
        compiled_here = compile is not None or "y" in fit_kwargs
        if compile is not None:
            compile(model, total)
        elif compiled_here:
            model.compile(total_steps=total, **(fit_kwargs.pop("compile_kwargs", None) or {}))
        start = time.perf_counter()
        fit_model(model, train, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose,
                  compile=not compiled_here, **fit_kwargs)
        seconds = time.perf_counter() - start
    row = {"train_seconds": round(seconds, 1)}
    if evaluate is True:
        row.update(evaluate_row(model, test))
    elif evaluate:
        row.update(evaluate(model))
    return row, model


# ====================================================================== timing
class Timing(NamedTuple):
    """Median seconds per call of each candidate, and each one's ratio to the baseline."""

    seconds: dict
    ratios: dict


def time_interleaved(fns, repeats=7, warmup=1, calls=1, round_warmup=0, setup=None,
                     baseline=None) -> Timing:
    """Time callables side by side: medians of interleaved repeats, and ratios.

    Every callable first runs `warmup` untimed calls (tracing, caches). Then `repeats`
    rounds: in each, every callable in turn runs `round_warmup` untimed and `calls` timed
    calls; its sample is the median of those calls. Returns the median of the samples.
    `setup[name]` (optional), called untimed before each timed call, gives the argument the
    call takes (e.g. a fresh iterator whose start-up is not to be timed).

    Args:
        fns: `{name: callable}`, timed in this order.
        baseline: the name the ratios divide by (default: the first).
    """
    import numpy as np

    setup = setup or {}

    def call(name):
        args = (setup[name](),) if name in setup else ()
        t0 = time.perf_counter()
        fns[name](*args)
        return time.perf_counter() - t0

    for name in fns:
        for _ in range(warmup):
            call(name)
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name in fns:
            for _ in range(round_warmup):
                call(name)
            samples[name].append(float(np.median([call(name) for _ in range(calls)])))
    seconds = {name: float(np.median(v)) for name, v in samples.items()}
    base = seconds[baseline if baseline is not None else next(iter(fns))]
    return Timing(seconds, {name: s / base for name, s in seconds.items()})


# ====================================================================== memory
def peak_memory(target, **kwargs) -> float:
    """Peak-RSS growth (bytes) of running `target(**kwargs)` in a fresh Python process.

    `target` is `"module:function"`, importable from `benchmarks/`; `kwargs` must be JSON.
    The baseline is the process's RSS just before the call; when the call returns a
    callable, its set-up is excluded: the baseline is taken again and the returned callable
    is what is measured. Growth = peak RSS of the process (`VmHWM`, the high-water mark since
    it started) - baseline; a set-up that peaks above what follows hides the growth.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "_peak_memory", target,
                          json.dumps(kwargs)], capture_output=True, text=True, env=env,
                         cwd=str(ROOT), check=False)
    if out.returncode:
        raise RuntimeError(f"peak_memory({target!r}) failed:\n{out.stderr[-3000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_growth_bytes"])


def _rss(field):
    """`VmRSS` / `VmHWM` (peak) of this process in bytes, from /proc (Linux).

    Not `resource.getrusage(...).ru_maxrss`: Linux carries it over fork and exec, so a child
    reports at least the RSS its parent had when it was spawned. Elsewhere (no /proc) that
    is the only figure there is."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak_memory_child(target, kwargs_json):
    module, name = target.split(":")
    fn = getattr(importlib.import_module(module), name)
    before = _rss("VmRSS")
    out = fn(**json.loads(kwargs_json))
    if callable(out):
        before = _rss("VmRSS")
        out()
    print(json.dumps({"peak_growth_bytes": _rss("VmHWM") - before}), flush=True)


# ====================================================================== result files
def mean_std_table(df, by, metrics, percent=True):
    """Markdown table of `mean +- std` per group (std over seeds)."""
    import pandas as pd

    rows = []
    for key, group in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        row["seeds"] = len(group)
        for m in metrics:
            vals = group[m].astype(float).dropna()
            vals = vals * (100 if percent and m != "mistake_severity" else 1)
            if vals.empty:
                row[m] = "-"
            else:
                row[m] = f"{vals.mean():.2f} +- {vals.std(ddof=1) if len(vals) > 1 else 0:.2f}"
        rows.append(row)
    return to_markdown(pd.DataFrame(rows))


def to_markdown(df) -> str:
    """A GitHub markdown table (no tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(v) for v in r.values) + " |")
    return "\n".join(lines)


def result_path(filename) -> Path:
    """`results/<filename>` (the folder is created)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / filename


def _plain(value):
    """A CSV cell as JSON: numpy scalars as Python ones, NaN / NA as None."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return value


def write_sidecar(name, df, command, notes="", date=None) -> Path:
    """`results/<name>.json`: name, command, date, columns, rows, notes (module docstring)."""
    columns = [str(c) for c in df.columns]
    rows = [[_plain(v) for v in r] for r in df.itertuples(index=False)]
    sidecar = {"name": name, "command": command,
               "date": date or datetime.date.today().isoformat(),
               "columns": columns, "rows": rows, "notes": notes}
    # One line per key and per row: readable, and diffs show the rows that changed.
    lines = [f" {json.dumps(k)}: {json.dumps(v, allow_nan=False)}"
             for k, v in sidecar.items() if k != "rows"]
    body = ",\n".join(f"  {json.dumps(r, allow_nan=False)}" for r in rows)
    lines.insert(4, f' "rows": [\n{body}\n ]' if rows else ' "rows": []')
    path = result_path(f"{name}.json")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    return path


def write_results(name, df, markdown="", command=None, notes="", tables=None):
    """Write `<name>.csv`, `<name>.md` and the sidecar `<name>.json` in `RESULTS`.

    Args:
        name: the file stem.
        df: the table of runs (one row per run), the CSV and the sidecar's rows.
        markdown: the summary tables, after the notes in the .md.
        command: the command line that produced the result (`command_line(__file__, argv)`).
        notes: markdown prose before the tables.
        tables: `{suffix: DataFrame}` companion tables: `<name><suffix>.csv` and its sidecar.
    """
    if not command:
        raise ValueError("write_results needs the command that produced the result.")
    df.to_csv(result_path(f"{name}.csv"), index=False)
    body = f"{notes}\n\n{markdown}"
    text = f"# {name}\n\nCommand:\n\n```\n{command}\n```\n\n{body}\n"
    result_path(f"{name}.md").write_text(text)
    write_sidecar(name, df, command, body.strip())
    for suffix, table in (tables or {}).items():
        table.to_csv(result_path(f"{name}{suffix}.csv"), index=False)
        write_sidecar(f"{name}{suffix}", table, command,
                      f"Companion table of `{name}.md`; see its notes.")
    print(text)


def read_result(name) -> dict:
    """The sidecar `results/<name>.json` as a dict (keys: see the module docstring)."""
    return json.loads((RESULTS / f"{name}.json").read_text())


# ====================================================================== for the notebooks
def _sidecar_or_none(name):
    path = RESULTS / f"{name}.json"
    if not path.exists():
        print(f"{path.relative_to(ROOT)} is missing: run the benchmark script first.")
        return None
    return read_result(name)


def read_table(name):
    """A result table as a DataFrame (its sidecar's rows), or None (saying so) when missing."""
    import pandas as pd

    result = _sidecar_or_none(name)
    if result is None:
        return None
    df = pd.DataFrame(result["rows"], columns=result["columns"])
    # A column of nulls only comes back as objects; make it NaN floats, as in the CSV.
    return df.astype({c: float for c in df.columns if df[c].isna().all()})


def table_command(name) -> str:
    """The command that wrote a result table, and when (from its sidecar)."""
    result = _sidecar_or_none(name)
    if result is None:
        return "(not recorded)"
    return f"$ {result['command']}" + (f"  # {result['date']}" if result.get("date") else "")


def mean_std_frame(df, by, columns, scale=100.0):
    """`mean ± std` over seeds of each group as a DataFrame, in percent by default."""
    groups = df.groupby(by, sort=False)[columns]
    mean, std = groups.mean() * scale, groups.std(ddof=1).fillna(0.0) * scale
    out = mean.round(2).astype(str) + " ± " + std.round(2).astype(str)
    out.insert(0, "seeds", groups.size())
    return out


if __name__ == "__main__" and sys.argv[1:2] == ["_peak_memory"]:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    _peak_memory_child(*sys.argv[2:4])
