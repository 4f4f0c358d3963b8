"""Distribution strategies by name (``train.strategy``, ``ferkit train/tune --strategy``).

``default``: TensorFlow's default strategy (one device, no distribution).
``mirrored``: ``MirroredStrategy`` over this host's GPUs (data-parallel, one replica per GPU;
on a CPU-only host it runs with one CPU replica, and says so).
``multi_worker``: ``MultiWorkerMirroredStrategy`` over several hosts (or processes), each
started with a ``TF_CONFIG`` describing the cluster and its own task; every worker runs the
same command. See docs/guide/scaling.md.

A multi-worker strategy must be created before TensorFlow runs any operation in the process,
so callers make the strategy first (``run_experiment`` does).
"""
from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from ferkit.config import STRATEGIES
from ferkit.errors import ConfigError

logger = logging.getLogger(__name__)


def read_tf_config(environ: dict[str, str] | None = None) -> dict:
    """``TF_CONFIG`` parsed and checked: a ``cluster`` of task type -> ``host:port`` list and
    this process's ``task`` (``type`` and ``index`` naming a member of the cluster)."""
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        raise ConfigError("train.strategy 'multi_worker' needs the TF_CONFIG environment variable "
                          "(the cluster and this worker's task), which is not set; see "
                          "docs/guide/scaling.md for an example")
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ConfigError(f"TF_CONFIG is not valid JSON: {err}") from None
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise ConfigError("TF_CONFIG has no 'cluster' mapping of task type -> list of host:port, "
                          f"got {raw!r}")
    for kind, hosts in cluster.items():
        if not (isinstance(hosts, list) and hosts and all(isinstance(h, str) and ":" in h
                                                          for h in hosts)):
            raise ConfigError(f"TF_CONFIG cluster[{kind!r}] must be a non-empty list of "
                              f"'host:port' strings, got {hosts!r}")
    task = spec.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ConfigError("TF_CONFIG has no 'task' with 'type' and 'index' (which cluster "
                          f"member this process is), got {task!r}")
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise ConfigError(f"TF_CONFIG task type {kind!r} is not in the cluster "
                          f"({sorted(cluster)})")
    if not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise ConfigError(f"TF_CONFIG task index {index!r} is out of range: cluster[{kind!r}] "
                          f"has {len(cluster[kind])} member(s)")
    return spec


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``MultiWorkerMirroredStrategy`` whose ``reduce`` takes what Keras 3 gives it.

    Across several workers, Keras 3's ``fit`` reduces a nested (x, y) batch and asks for
    ``axis=0`` on scalar logs; TensorFlow's collective reduce takes one value with that axis
    and fails on both (keras-team/keras#20585). Here values are reduced leaf by leaf, scalars
    over replicas only: the same results, with the same collectives in the same order on
    every worker.
    """

    def reduce(self, reduce_op, value, axis):
        parent = super()

        def one(leaf):
            local = self.experimental_local_results(leaf)[0]
            scalar = getattr(local, "shape", None) is not None and local.shape.rank == 0
            return parent.reduce(reduce_op, leaf, None if scalar else axis)

        return tf.nest.map_structure(one, value)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (one of :data:`STRATEGIES`)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        strategy = tf.distribute.MirroredStrategy()
        if not gpus:
            logger.warning("mirrored strategy: no GPU on this host, training on one CPU replica")
        else:
            logger.info("mirrored strategy over %d GPU(s)", len(gpus))
        return strategy
    if name == "multi_worker":
        spec = read_tf_config()
        strategy = _MultiWorkerMirroredStrategy()
        logger.info("multi-worker strategy: %s %d of cluster %s, %d replica(s) in sync",
                    spec["task"]["type"], spec["task"]["index"], spec["cluster"],
                    strategy.num_replicas_in_sync)
        return strategy
    raise ConfigError(f"unknown distribution strategy {name!r}; choose one of {list(STRATEGIES)}")


def worker_role(strategy: tf.distribute.Strategy) -> tuple[bool, str]:
    """(is this process the chief, its task name such as ``worker_1``) under ``strategy``.

    The chief is the ``chief`` task when the cluster has one, otherwise worker 0 (the
    convention of TensorFlow's multi-worker guide). Single-process strategies are the chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, "chief"
    kind, index = resolver.task_type, int(resolver.task_id or 0)
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief), f"{kind}_{index}"


__all__ = ["STRATEGIES", "make_strategy", "read_tf_config", "worker_role"]
