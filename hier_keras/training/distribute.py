"""Distribution strategies, mixed precision and XLA for training scripts and the CLI.

TensorFlow proper (`tf.distribute`) lives here, not in model code. Used by
`hier-keras train --strategy ... --mixed-precision --jit` and the GPU-scale
benchmark scripts.

- `"default"`: the current (single-device) strategy.
- `"mirrored"`: `tf.distribute.MirroredStrategy`, synchronous data parallelism
  over the local GPUs (or logical CPU devices); the global batch is split
  across replicas.
- `"multiworker"`: `tf.distribute.MultiWorkerMirroredStrategy` across hosts;
  each process reads its role from `TF_CONFIG` (`{"cluster": {"worker":
  ["host1:port", ...]}, "task": {"type": "worker", "index": i}}`) and all
  workers run the same command. Worker 0 is the chief: it writes the outputs.

Mixed precision (`"mixed_float16"`) computes in float16 with float32
variables; Keras wraps the optimizer in a `LossScaleOptimizer` and the models
return float32 probabilities. It pays off on GPUs with tensor cores (Volta
and later); on a CPU it is only tested, not faster. `--jit` XLA-compiles the
train step (`compile(jit_compile=True)`).

Example:

>>> strategy = strategy_from_name("default")
>>> strategy.num_replicas_in_sync
1
>>> with precision_policy(mixed=True):
...     import keras
...     keras.mixed_precision.global_policy().name
'mixed_float16'
>>> keras.mixed_precision.global_policy().name
'float32'
"""

from __future__ import annotations

import contextlib
import json
import os

STRATEGIES = ("default", "mirrored", "multiworker")


def strategy_from_name(name):
    """A `tf.distribute.Strategy` by name: `"default"`, `"mirrored"` or `"multiworker"`.

    Raises:
        ValueError: an unknown name (lists the valid ones), or `"multiworker"`
            with a `TF_CONFIG` that is not valid JSON.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; use one of {STRATEGIES}.")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        tf_config(required=False)  # a clear error for malformed JSON
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def tf_config(required=True) -> dict:
    """The parsed `TF_CONFIG` (`{}` when unset and not `required`)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        if required:
            raise ValueError("TF_CONFIG is not set; multi-worker training needs it.")
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON ({err}): {raw!r}") from err


def is_chief(strategy=None) -> bool:
    """Whether this process writes outputs: always, except on non-chief workers."""
    config = tf_config(required=False)
    task = config.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    has_chief = "chief" in config.get("cluster", {})
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and not has_chief


def task_id() -> str:
    """`"<type>_<index>"` of this process in `TF_CONFIG`, or `"local"`."""
    task = tf_config(required=False).get("task")
    return f"{task['type']}_{task.get('index', 0)}" if task else "local"


@contextlib.contextmanager
def precision_policy(mixed=False):
    """Set the Keras dtype policy to `mixed_float16` (if `mixed`) inside the block.

    Models must be built inside the block to take the policy; the previous
    global policy is restored on exit.
    """
    import keras

    previous = keras.mixed_precision.global_policy()
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def distribute_dataset(dataset):
    """Shard a `tf.data` pipeline by element across workers (arrays have no files to split)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
