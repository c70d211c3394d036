"""The chunked time loop: generated C first, the XLA kernels otherwise.

Long runs are split into chunks of one compiled call, so memory stays bounded, a
progress bar can advance, and a divergence (non-finite state) is caught after each
chunk and located to the exact step by re-running only that chunk
(`_divergence.check_finite`). A chunk of a concrete batch on a CPU runs through
`chaosjax.native` when the map and observable translate to C; otherwise (traced,
sharded, on a GPU, `CHAOSJAX_CGEN=0`, ...) through the XLA kernels of `_kernels.py`.
"""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp

from .. import _validate as v
from .. import native
from .._divergence import check_finite, check_observable_finite, is_traced
from .._progress import progress_bar
from . import _tiling
from ._kernels import iterate_chunk, sum_chunk
from ._tiling import call_per_group

WORK_PER_CHUNK = 1 << 30
"""State components updated per chunk when no `chunk_size` is given (steps x batch x
dim): about a quarter of a second on one core, so that Ctrl-C, delivered between
chunks, stops a run within a second even on a loaded machine, while the calls cost
about 1 % of the run."""


def bounded_chunk(chunk_size: int | None, x, steps_per_unit: int = 1) -> int | None:
    """`chunk_size`, or (None given) the most units of `steps_per_unit` steps of about
    `WORK_PER_CHUNK` updates of the concrete state or batch `x`; None when traced (a
    traced loop stays one loop). Chunks carry the state and sums, so the results do not
    depend on the chunking."""
    if chunk_size is not None or is_traced(x):
        return chunk_size
    return max(1, WORK_PER_CHUNK // (max(1, int(x.size)) * steps_per_unit))


def split_chunks(total: int, chunk: int | None) -> list[int]:
    """`total` steps as chunks of `chunk` (the last one shorter); one chunk if None."""
    if chunk is None or chunk >= total:
        return [total]
    chunk = v.positive_int(chunk, "chunk_size")
    out = [chunk] * (total // chunk)
    if total % chunk:
        out.append(total % chunk)
    return out


_last = threading.local()


def last_backend() -> str:
    """The backend of this thread's last `sum_observable` ("native", "xla" or
    "native+xla": the chunks differed); under a trace, decided when tracing."""
    return getattr(_last, "backend", "xla")


def backend_name(used: set[str]) -> str:
    """The backend of a run from those of its chunks: "native", "xla" or "native+xla"."""
    return "+".join(sorted(used)) if used else "xla"


def run_transient(m, x, transient, chunk_size, throw, bar, what, used=None):
    """The state (or batch) after `transient` steps, nothing stored on the way; the
    backend of each chunk ("native" or "xla") is added to the set `used`."""
    used = set() if used is None else used
    chunk_size = bounded_chunk(chunk_size, x)
    done, plan = 0, _tiling.tile_plan(x)
    for n in split_chunks(transient, chunk_size) if transient else []:

        def xla(m, x, n=n):
            return call_per_group(
                lambda x, _, plan: iterate_chunk(m, x, n, plan), _tiling.tile_plan(x), x
            )

        x_new = native.iterate(m, x, n, xla) if plan is not None or is_traced(x, m) else None
        used.add("xla" if x_new is None else "native")
        if x_new is None:
            x_new = xla(m, x)
        check_finite(m, x, x_new, n, done, throw, what)
        x, done = x_new, done + n
        bar.advance(n)
    return x


def sum_observable(m, x, observable, obs0, steps, transient, throw, progress, chunk_size, desc):
    """(sums of observable(x_k) over `steps` states after the transient, final state);
    the backend that ran is kept for `last_backend`."""
    used: set[str] = set()
    zeros = jax.tree.map(lambda s: jnp.zeros(x.shape[:-1] + s.shape, x.dtype), obs0)
    if progress and chunk_size is None:
        chunk_size = max(1, (steps + transient) // 100)
    chunk_size = bounded_chunk(chunk_size, x)
    with progress_bar(progress, transient + steps, desc) as bar:
        x = run_transient(m, x, transient, chunk_size, throw, bar, "time_average", used)
        acc, done, plan = zeros, transient, _tiling.tile_plan(x)
        for n in split_chunks(steps, chunk_size):

            def xla(m, x, acc, n=n):
                return call_per_group(
                    lambda x, acc, plan: sum_chunk(m, x, acc, observable, n, plan),
                    _tiling.tile_plan(x),
                    x,
                    acc,
                )

            out = None
            if plan is not None or is_traced(x, m):
                out = native.iterate_and_sum(m, x, acc, observable, n, xla)
            used.add("xla" if out is None else "native")
            x_new, acc = out if out is not None else xla(m, x, acc)
            check_finite(m, x, x_new, n, done, throw, "time_average")
            check_observable_finite(m, observable, x, acc, n, done, throw)
            x, done = x_new, done + n
            bar.advance(n)
    _last.backend = backend_name(used)
    return acc, x
