"""Distribution strategies, mixed precision and XLA for training scripts and the CLI.

TensorFlow proper (`tf.distribute`) lives here, not in model code. Used by
`hier-keras train --strategy ... --mixed-precision --jit` and the GPU-scale
benchmark scripts.

- `"default"`: the current (single-device) strategy.
- `"mirrored"`: `tf.distribute.MirroredStrategy`, synchronous data parallelism
  over the local GPUs (without GPUs: over the logical CPU devices); the global
  batch is split across replicas.
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

    Example:

    >>> strategy_from_name("default").num_replicas_in_sync
    1

    Raises:
        ValueError: an unknown name (lists the valid ones), or `"multiworker"`
            with a `TF_CONFIG` that is not valid JSON.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; use one of {STRATEGIES}.")
    if name == "mirrored":
        # Every local GPU; on a machine without one, every logical CPU device (one unless
        # split with `tf.config.set_logical_device_configuration`, as the tests do).
        gpus = tf.config.list_logical_devices("GPU")
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
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


def prepare_model(model, strategy):
    """Make `model.fit` work under `strategy` (call once, before fitting).

    Keras 3 (3.15 here; keras-team/keras#20585) fails under
    `MultiWorkerMirroredStrategy` in two places, both outside the training math:

    - it builds the metrics and the optimizer from the first batch, which it first
      averages across workers with `strategy.reduce`; a nested `(images, labels)`
      batch cannot be reduced that way. The build needs only shapes and dtypes, so
      the model builds from this worker's own first batch instead;
    - it averages the per-replica *logs* (loss and metric values, scalars) with
      `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars. The train and
      test steps hand each log over as a one-element vector instead, so that reduce
      is the mean over the replicas, as under `MirroredStrategy`.

    Gradients are summed across all workers by the optimizer's all-reduce, as
    usual; nothing here touches the training math. Other strategies are left alone.

    Returns:
        `model`.
    """
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return model

    def local_batch(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def _maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(local_batch, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    def vector_logs(step):
        def wrapped(data):
            return tf.nest.map_structure(
                lambda v: tf.reshape(v, [1]) if tf.is_tensor(v) and v.shape.rank == 0 else v,
                step(data))
        return wrapped

    model._maybe_symbolic_build = _maybe_symbolic_build
    model.train_step = vector_logs(model.train_step)
    model.test_step = vector_logs(model.test_step)
    return model


def local_copy(model):
    """A single-device copy of a model trained under a strategy (same config and weights).

    Evaluation and saving use it: prediction under a multi-worker strategy is a
    collective op that splits and re-gathers the data; a local copy predicts the
    whole split on every worker, independently.
    """
    import keras

    copy = type(model).from_config(model.get_config())
    copy.set_weights([keras.ops.convert_to_numpy(w) for w in model.weights])
    return copy
