"""Sharding the batch axis of ensembles and parameter sweeps over devices and hosts.

On one CPU, XLA already spreads a large batched computation over the cores of one
device; splitting it into several CPU devices pays only for some workloads (measure
yours; docs/performance.md has ours). On GPUs and across hosts (after
`jax.distributed.initialize()`), sharding the batch axis over every device is how an
ensemble scales: the same code runs, and XLA partitions the vmapped scan with no
communication until the reduction.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
from jax.core import Tracer
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import _validate as v


def use_all_cpu_cores(n: int | None = None) -> int:
    """Expose the machine's CPU cores as `n` JAX CPU devices.

    Sets `jax_num_cpu_devices`, so it must run before JAX creates its backends (before
    the first array is made). On one CPU host one device already spreads a large batched
    computation over every core, and splitting it over several devices can be slower
    (docs/performance.md): use this to test sharding, or for workloads you measured.

    **Arguments:**

    - `n`: the number of CPU devices, a positive int; default every core.

    **Returns:**

    The number of devices requested. Raises `RuntimeError` if the backend already
    exists with a different count.

    Example:

    ```python
    import chaosjax as cj
    cj.use_all_cpu_cores()      # jax.devices() now lists one CPU device per core
    ```
    """
    n = (os.cpu_count() or 1) if n is None else v.positive_int(n, "n")
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError as e:
        if len(jax.devices("cpu")) != n:
            raise RuntimeError(
                f"use_all_cpu_cores({n}) must be called before JAX is first used "
                f"(the CPU backend already has {len(jax.devices('cpu'))} devices)."
            ) from e
    return n


def batch_mesh(devices=None) -> Mesh:
    """A one-axis device mesh whose axis is named "batch".

    **Arguments:**

    - `devices`: the devices; default `jax.devices()` (every device of every host).

    **Returns:**

    A `jax.sharding.Mesh`.

    Example:

    ```python
    mesh = cj.parallel.batch_mesh()
    ```
    """
    devices = jax.devices() if devices is None else devices
    return Mesh(devices, ("batch",))


def shard_batch(x: jax.Array, devices=None) -> jax.Array:
    """Place `x` with its leading (batch) axis split over the devices.

    With one device, or a batch not divisible by the device count, `x` is returned
    unchanged (replicated placement), so callers never have to special-case it. Inside
    `jit` the placement is a sharding constraint.

    **Arguments:**

    - `x`: an array whose first axis is the batch.
    - `devices`: the devices; default `jax.devices()`.

    **Returns:**

    `x`, placed.

    Example:

    ```python
    x0s = cj.parallel.shard_batch(cj.systems.Lorenz63().sample_state(jax.random.key(0), 64))
    ```
    """
    devices = jax.devices() if devices is None else devices
    x = jnp.asarray(x)
    if len(devices) == 1 or x.ndim == 0 or x.shape[0] % len(devices):
        return x
    sharding = NamedSharding(batch_mesh(devices), PartitionSpec("batch"))
    if isinstance(x, Tracer):
        return jax.lax.with_sharding_constraint(x, sharding)
    return jax.device_put(x, sharding)


def sharded_vmap(fn, *args, devices=None):
    """`jax.jit(jax.vmap(fn))(*args)` with the leading axis of every argument sharded
    over the devices.

    **Arguments:**

    - `fn`: a function of one batch element of each argument.
    - `*args`: arrays (or pytrees of arrays) with a common leading batch axis.
    - `devices`: the devices; default `jax.devices()`.

    **Returns:**

    `fn`'s outputs stacked along a leading batch axis.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0 = lor.default_state()
    rhos = jnp.linspace(20.0, 40.0, 64)
    zbar = cj.parallel.sharded_vmap(
        lambda r: cj.time_average(cj.systems.Lorenz63(rho=r), x0, lambda x: x[2],
                                  steps=10_000, dt=0.01),
        rhos,
    )
    ```
    """
    args = jax.tree.map(lambda a: shard_batch(a, devices), args)
    return jax.jit(jax.vmap(fn))(*args)


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    local_device_ids: object = None,
) -> tuple[int, int]:
    """Join this process to a many-process JAX run (`jax.distributed.initialize`), with
    CPU collectives through gloo.

    After it, `jax.devices()` lists every device of every process, so `cj.sweep`,
    `cj.ensemble_time_average` and `sharded_vmap` split their batch axis over all of
    them. Arguments left None are read from the environment: `JAX_COORDINATOR_ADDRESS`
    (host:port of process 0), `JAX_NUM_PROCESSES` and `JAX_PROCESS_ID`; where those are
    unset, JAX detects the cluster itself (SLURM, Open MPI, Kubernetes, ...). Must run
    before JAX is first used, in every process, with the same coordinator.

    **Arguments:**

    - `coordinator_address`: "host:port" of process 0's coordinator.
    - `num_processes`: the number of processes.
    - `process_id`: this process's index, 0 to `num_processes` - 1.
    - `local_device_ids`: the local devices this process uses (default all of them).

    **Returns:**

    (`jax.process_index()`, `jax.process_count()`).

    Example:

    ```python
    # srun -n 4 python run.py   (SLURM sets what JAX needs), or, by hand,
    # JAX_COORDINATOR_ADDRESS=node0:1234 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=0 python run.py
    import chaosjax as cj
    rank, size = cj.parallel.initialize()
    ```
    """

    def env_int(value: int | None, name: str) -> int | None:
        if value is not None:
            return v.nonnegative_int(value, name)
        text = os.environ.get(f"JAX_{name.upper()}")
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"JAX_{name.upper()} must be an int, got {text!r}.") from None

    address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if address is not None and (not isinstance(address, str) or ":" not in address):
        raise ValueError(f"`coordinator_address` must be 'host:port', got {address!r}.")
    count = env_int(num_processes, "num_processes")
    index = env_int(process_id, "process_id")
    if count is not None and index is not None and not 0 <= index < count:
        raise ValueError(f"`process_id` must be in [0, {count}), got {index}.")
    # CPU devices of different processes talk through gloo (JAX has no default for them).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=count,
        process_id=index,
        local_device_ids=local_device_ids,  # pyright: ignore[reportArgumentType]
    )
    return jax.process_index(), jax.process_count()
