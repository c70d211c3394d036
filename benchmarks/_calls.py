"""The call styles JAX users write around chaosjax, shared by ensemble.py, lyapunov.py and
native_calls.py: `jax.jit(jax.vmap(...))` over states and over a parameter, and the same
traced with `CHAOSJAX_CGEN=0` (chaosjax's XLA kernels)."""

from __future__ import annotations

import os
import statistics
import time

import jax

import chaosjax as cj


def xla_traced(make):
    """A jitted function traced (at its first call) with `CHAOSJAX_CGEN=0`: chaosjax's XLA
    kernels compiled into it."""
    fn = make()
    state = {"traced": False}

    def run(*args):
        if not state["traced"]:
            os.environ["CHAOSJAX_CGEN"] = "0"
            try:
                out = jax.block_until_ready(fn(*args))
            finally:
                del os.environ["CHAOSJAX_CGEN"]
            state["traced"] = True
            return out
        return fn(*args)

    return run


def measure(variants, repeats, pause=0.05, runs=None):
    """Medians of `repeats` interleaved calls of each `variants` value (after two warm-up
    calls each: compiled, and a repeated call's remembered path taken once), `pause`
    seconds of sleep before each call (none at 0: calls back to back); `runs` (a dict,
    optional): calls in a row per round for the variants it names (a variant with a
    large fresh output then reuses the memory its own last one freed)."""
    for fn in variants.values():
        _block(fn())
        _block(fn())
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            for _ in range((runs or {}).get(name, 1)):
                if pause:
                    time.sleep(pause)
                t0 = time.perf_counter()
                _block(fn())
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _block(result):
    """Wait for `result`: a JAX array's own method (0.2 µs, where
    `jax.block_until_ready` walks a pytree in 0.8), else `jax.block_until_ready`."""
    if isinstance(result, jax.Array):
        return result.block_until_ready()
    return jax.block_until_ready(result)


def time_average_over_states(lor, observable, steps, dt):
    """`jax.jit(jax.vmap(lambda x: cj.time_average(lor, x, ...)))`: one trajectory per
    vmapped initial state."""
    return jax.jit(jax.vmap(lambda x: cj.time_average(lor, x, observable, steps=steps, dt=dt)))


def time_average_over_rho(x0, observable, steps, dt):
    """`jax.jit(jax.vmap(lambda rho: cj.time_average(Lorenz63(rho=rho), x0, ...)))`: one
    orbit from `x0` per vmapped value of rho."""

    def one(rho):
        return cj.time_average(cj.systems.Lorenz63(rho=rho), x0, observable, steps=steps, dt=dt)

    return jax.jit(jax.vmap(one))
