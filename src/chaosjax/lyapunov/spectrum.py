"""Lyapunov spectra of one-step maps: Benettin's QR method, written once for every map.

Tangent vectors are pushed through the Jacobian of the one-step map (`jax.linearize`
of `step`, or the system's analytic `jacobian`), re-orthonormalised by a QR
factorisation every `qr_every` steps, and the logarithms of diag(R) are summed in
the scan (Benettin, Galgani, Giorgilli & Strelcyn 1980, Meccanica 15, 9-30; Shimada
& Nagashima 1979, Prog. Theor. Phys. 61, 1605). The same code serves maps,
discretised flows (exponents per unit time: the sums are divided by
steps x `time_per_step`), delay maps, trained networks and input-driven RNNs.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .. import _remembered, native
from .. import _validate as v
from .._divergence import first_nonfinite, is_traced, raise_diverged
from .._iterate import iterate, step
from .._results import Dims, Result
from ..discretize import AbstractDiscretizedFlow, Discretized, as_map
from ..simulate._arguments import with_time
from ..systems import Autonomised, DrivenMap, Flow, Map, is_time_dependent
from . import _qr
from ._tangent import InversePush, TimeFixedPush, forward_push


def _with_time(m: Map) -> bool:
    """Whether `m` is the map of a time-dependent flow, acting on (x, t)."""
    return isinstance(m, Discretized) and isinstance(m.flow, Autonomised)


class LyapunovResult(Result):
    """Lyapunov exponents and how they converged (what `lyapunov_spectrum`,
    `max_lyapunov` and `spectrum_on_map` return).

    With a batch of initial states every array attribute gains a leading axis n.

    **Attributes:**

    - `exponents`: (k,), sorted descending; per unit time for flows (and maps with
      `time_per_step != 1`), per iteration for maps.
    - `history`: (rows, k), the running estimates after `history_steps[i]` steps
      (counted after the transient), each row sorted descending.
    - `history_steps`: (rows,), the step count of each history row.
    - `diverged_at`: the first step after the transient at which the state became
      non-finite (exact outside `jit`/`vmap`; under a trace, the end of the first
      history row that went non-finite); 0 if it happened in the transient; -1 if
      none. With `inverse=True` it counts steps of the backward pass.
    - `final_state`: (dim,), the state where the run ended.
    - `basis`: (dim, k), the orthonormal tangent basis where the run ended.
    - `log_sums`: (k,), the unsorted sums of log diag R, aligned with the columns of
      `basis`; pass the result as `resume=` to continue the run.
    - `steps`, `time_per_step`: static; the exponents are log-sums / (steps x
      time_per_step).
    - `backend`: static; "native" when generated C ran the time loop (eagerly or as an
      XLA custom call inside `jit`), "xla" when XLA's kernel did.
    - `largest`: the largest exponent, `exponents[..., 0]`.

    Example:

    ```python
    res = cj.lyapunov_spectrum(cj.systems.Henon(), jnp.zeros(2), steps=10_000)
    res.exponents, res.largest             # ~[0.42, -1.62], ~0.42
    res.history[-1], res.history_steps[-1]  # the last running estimate, after 10,000
    ```
    """

    exponents: Float[Array, " k"]
    history: Float[Array, "rows k"]
    history_steps: Int[Array, " rows"]
    diverged_at: Int[Array, ""]
    final_state: Float[Array, " dim"]
    basis: Float[Array, "dim k"]
    log_sums: Float[Array, " k"]
    steps: int = eqx.field(static=True)
    time_per_step: float = eqx.field(static=True)
    backend: str = eqx.field(static=True, default="xla")

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "exponents": ("exponent",),
        "history": ("history_steps", "exponent"),
        "history_steps": ("history_steps",),
        "diverged_at": (),
        "final_state": ("variable",),
        "basis": ("variable", "exponent"),
        "log_sums": ("exponent",),
    }

    @property
    def largest(self) -> Array:
        """The largest exponent, `exponents[..., 0]` (leading batch axes kept)."""
        return self.exponents[..., 0]


class FiniteTimeLyapunov(Result):
    """Finite-time Lyapunov exponents over consecutive windows of one orbit (what
    `finite_time_lyapunov` returns).

    **Attributes:**

    - `exponents`: (windows, k), the exponents of each window of `window` steps (per
      unit time for flows, per iteration for maps), not sorted within a window (column
      i follows the i-th QR direction).
    - `window_starts`: (windows,), the first step of each window after the transient.
    - `diverged_at`: the end of the first window in which the state or the tangent
      vectors became non-finite (0: in the transient; -1: none).
    - `window`, `time_per_step`: static; the window's length in steps and the time per
      step.
    - `mean`, `std`: (k,), the mean and standard deviation (ddof=1) over windows.

    Example:

    ```python
    ftle = cj.finite_time_lyapunov(cj.systems.Henon(), jnp.zeros(2), window=20,
                                   windows=500, transient=100)
    ftle.exponents.shape, ftle.mean        # (500, 1), ~[0.42]
    ```
    """

    exponents: Float[Array, "windows k"]
    window_starts: Int[Array, " windows"]
    diverged_at: Int[Array, ""]
    window: int = eqx.field(static=True)
    time_per_step: float = eqx.field(static=True)

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "exponents": ("window_starts", "exponent"),
        "window_starts": ("window_starts",),
        "diverged_at": (),
    }

    @property
    def mean(self) -> Array:
        """The mean over windows, (k,): the ordinary exponents over the whole run."""
        return jnp.mean(self.exponents, axis=-2)

    @property
    def std(self) -> Array:
        """The standard deviation over windows (ddof=1), (k,)."""
        return jnp.std(self.exponents, axis=-2, ddof=1)


# --------------------------------------------------------------------------- kernel


def _tangent_block(push, x, Q, us, length):
    """`length` tangent steps without re-orthonormalisation; `us` per-step inputs."""
    if length == 1:
        return push(x, Q, None if us is None else us[0])

    def body(c, u):
        return push(*c, u), None

    (x, Q), _ = jax.lax.scan(body, (x, Q), us, length=length)
    return x, Q


def _blocks(push, qr, carry, us, n_blocks, block_len):
    """`n_blocks` x (block_len tangent steps + one QR), log-sums carried.

    The body holds nothing else (no step counter, no finiteness test): on XLA:CPU each
    extra scalar op in a tiny loop body costs a kernel launch per step. Divergence is
    tested once per segment by the caller.
    """

    def body(c, u):
        x, Q, s = c
        x, V = _tangent_block(push, x, Q, u, block_len)
        Q, logr = qr(V)
        return (x, Q, s + logr), None

    if n_blocks == 0:
        return carry
    if us is not None:
        us = us.reshape((n_blocks, block_len) + us.shape[1:])
    carry, _ = jax.lax.scan(body, carry, us, length=n_blocks)
    return carry


def _plan(steps: int, qr_every: int, history: int):
    """Split `steps` into history rows of whole QR blocks, plus a tail.

    Returns (rows, blocks_per_row, tail_blocks, tail_steps): the run is `rows` x
    `blocks_per_row` blocks of `qr_every` steps (a history row after each group), then
    `tail_blocks` more blocks and a last partial block of `tail_steps` steps.
    """
    n_blocks, rem = divmod(steps, qr_every)
    rows = max(1, min(history, n_blocks)) if n_blocks else 0
    per_row = n_blocks // rows if rows else 0
    return rows, per_row, n_blocks - rows * per_row, rem


def run_plan(b, x, Q, transient: int, qr_every: int, plan):
    """Benettin's run, written once for every backend `b`: the transient (state and
    basis; its sums discarded), then the history rows of `plan` (`_plan`) and the tail.

    `b` gives the primitives on its carry (XLA: `_Xla`, `_XlaChunked`; generated C:
    `native/spectrum.py`, eagerly or as XLA custom calls): `start(x, Q)`,
    `blocks(c, n, length, at)` (n blocks of `length` pushes, each followed by a QR; `at`
    the step they start at, counting the transient, for driving inputs),
    `rows(c, rows, per_row, length, at)` (`rows` groups of `per_row` blocks: the carry,
    the log-sums after each group (rows, k), whether the state and sums were still
    finite there (rows,)), `state`, `finite`, `restart` (sums to zero), `end`, and `xp`
    (NumPy or jax.numpy) for the divergence step.

    Returns (final state, basis, log-sums, history of log-sums, divergence step, state
    after the transient): JAX arrays, or NumPy arrays from the eager C loop (concrete
    results are finished on the host either way, `_finish`). The divergence step is 0
    for the transient, the end of the first history row whose carry went non-finite,
    `steps` for the tail, or -1; `spectrum_on_map` finds the exact step afterwards.
    """
    rows, per_row, tail_blocks, tail_steps = plan
    row_len = per_row * qr_every
    steps = rows * row_len + tail_blocks * qr_every + tail_steps
    xp = b.xp
    tb, trem = divmod(transient, qr_every)
    c = b.start(x, Q)
    c = b.blocks(c, tb, qr_every, 0)
    c = b.blocks(c, 1 if trem else 0, trem, tb * qr_every)
    x_run = b.state(c)
    div = xp.where(b.finite(c), -1, 0)
    c = b.restart(c)
    if rows:
        c, hist, ok = b.rows(c, rows, per_row, qr_every, transient)
        bad = xp.logical_not(ok)
        div = xp.where((div < 0) & bad.any(), (xp.argmax(bad) + 1) * row_len, div)
    else:
        hist = xp.zeros((0, Q.shape[1]), x.dtype)
    at = transient + rows * row_len
    c = b.blocks(c, tail_blocks, qr_every, at)
    c = b.blocks(c, 1 if tail_steps else 0, tail_steps, at + tail_blocks * qr_every)
    div = xp.where((div < 0) & xp.logical_not(b.finite(c)), steps, div)
    return b.end(c, hist, div.astype(_count_dtype()), x_run)


def _finite(c):
    return jnp.all(jnp.isfinite(c[0])) & jnp.all(jnp.isfinite(c[2]))


class _Xla:
    """`run_plan`'s primitives in XLA (one jit): carry (state, basis, log-sums)."""

    xp = jnp

    def __init__(self, push, qr, inputs):
        self.push, self.qr, self.inputs = push, qr, inputs

    def _us(self, at: int, n: int):
        return None if self.inputs is None else self.inputs[at : at + n]

    def start(self, x, Q):
        return x, Q, jnp.zeros(Q.shape[1], x.dtype)

    def blocks(self, c, n: int, length: int, at: int):
        if n <= 0 or length <= 0:
            return c
        return _blocks(self.push, self.qr, c, self._us(at, n * length), n, length)

    def rows(self, c, rows: int, per_row: int, length: int, at: int):
        us = self._us(at, rows * per_row * length)
        if us is not None:
            us = us.reshape((rows, per_row * length) + us.shape[1:])

        def row(c, u):
            c = _blocks(self.push, self.qr, c, u, per_row, length)
            return c, (c[2], _finite(c))

        c, (hist, ok) = jax.lax.scan(row, c, us, length=rows)
        return c, hist, ok

    def state(self, c):
        return c[0]

    def finite(self, c):
        return _finite(c)

    def restart(self, c):
        return c[0], c[1], jnp.zeros_like(c[2])

    def end(self, c, hist, div, x_run):
        return (*c, hist, div, x_run)


@eqx.filter_jit
def _spectrum_kernel(push, qr, x, Q, inputs, steps, transient, qr_every, history):
    """`run_plan` on XLA, everything in one jit (see `run_plan` for the results)."""
    plan = _plan(steps, qr_every, history)
    return run_plan(_Xla(push, qr, inputs), x, Q, transient, qr_every, plan)


_XLA_PUSHES_PER_CALL = 1 << 25
"""Work of one call of the XLA kernel in a long run, in pushes x dim x k x (dim + k):
a fraction of a second, so that Ctrl-C (delivered between calls) stops the run."""


@eqx.filter_jit
def _blocks_kernel(push, qr, carry, n_blocks: int, block_len: int):
    """`_blocks` of an undriven run, and whether the state and sums are still finite:
    one call of `_XlaChunked` (compiled per number and length of blocks)."""
    c = _blocks(push, qr, carry, None, n_blocks, block_len)
    return c, _finite(c)


def _long_run(steps: int, transient: int, dim: int, k: int) -> bool:
    return (steps + transient) * dim * k * (dim + k) > 4 * _XLA_PUSHES_PER_CALL


class _XlaChunked(_Xla):
    """`run_plan`'s primitives for a long, concrete, undriven run: a Python loop over
    calls of bounded work (the same blocks in the same order, so the same sums and
    history), each waited for, so Ctrl-C stops the run between calls."""

    xp = np

    def __init__(self, push, qr, per_call: int):
        super().__init__(push, qr, None)
        self.per_call = per_call

    def blocks(self, c, n: int, length: int, at: int):
        while n > 0 and length > 0:
            c, flag = _blocks_kernel(self.push, self.qr, c, min(n, self.per_call), length)
            bool(flag)  # wait for the call
            n -= min(n, self.per_call)
        return c

    def rows(self, c, rows: int, per_row: int, length: int, at: int):
        hist, ok = [], []
        for _ in range(rows):
            c = self.blocks(c, per_row, length, at)
            hist.append(c[2])
            ok.append(self.finite(c))
        return c, jnp.stack(hist), np.array(ok)

    def finite(self, c):
        return bool(_finite(c))

    def end(self, c, hist, div, x_run):
        return (*c, hist, jnp.asarray(div), x_run)


def _spectrum_chunked(push, qr, x, Q, steps, transient, qr_every, history):
    """`_spectrum_kernel` of a long, concrete, undriven run in calls of bounded work."""
    dim, k = Q.shape
    per_call = max(1, _XLA_PUSHES_PER_CALL // (dim * k * (dim + k)) // qr_every)
    plan = _plan(steps, qr_every, history)
    return run_plan(_XlaChunked(push, qr, per_call), x, Q, transient, qr_every, plan)


def _orbit(m, x, us, length):
    """The states x, F(x), ..., F^{length-1}(x) (length, dim)."""

    def body(y, u):
        return step(m, y, u), y

    return jax.lax.scan(body, x, us, length=length)[1]


@eqx.filter_jit
def _inverse_kernel(push, qr, x, Q, inputs, steps, transient, qr_every, history):
    """The inverted map's spectrum: tangent vectors pushed by DF(x_n)^-1 *backwards*
    along the stored forward orbit, x_{N-1}, ..., x_0.

    That product is exactly the inverse of the forward tangent map DF^N(x_0), so its
    exponents are minus the forward ones; pushing DF^-1 in forward order is not (it
    is a different cocycle, wrong in general beyond two dimensions). The orbit is
    regenerated segment by segment from stored segment starts (checkpointing), so
    memory stays O(rows + steps / rows). The last `transient` steps of the orbit let
    the backward basis converge; the first `transient` only move the state.
    """
    m = push.m
    k = Q.shape[1]
    sl = (lambda a, b: None) if inputs is None else (lambda a, b: inputs[a:b])
    x = iterate(m, x, transient, sl(0, transient))
    off = transient
    rows = max(1, min(history, steps))
    L, tail = divmod(steps, rows)
    # Forward: the start state of every full segment, then the tail and discard parts.
    us_rows = (
        None
        if inputs is None
        else inputs[off : off + rows * L].reshape((rows, L) + inputs.shape[1:])
    )

    def fwd(y, u):
        return iterate(m, y, L, u), y

    x, starts = jax.lax.scan(fwd, x, us_rows, length=rows)
    x_tail = x
    x_disc = iterate(m, x_tail, tail, sl(off + rows * L, off + steps))

    def segment(carry, start, us, length):
        """Regenerate a segment, then push the basis backwards through it."""
        Q, s, cnt, div = carry
        xs = _orbit(m, start, us, length)
        uu = None if us is None else us[:length]

        def back(c, xu):
            Q, s, cnt, div = c
            xn, u = xu
            _, V = push(xn, Q, u)
            cnt = cnt + 1
            Qn, logr = jax.lax.cond(
                cnt % qr_every == 0, qr, lambda V: (V, jnp.zeros(k, V.dtype)), V
            )
            bad = ~(jnp.all(jnp.isfinite(Qn)) & jnp.all(jnp.isfinite(xn)))
            div = jnp.where((div < 0) & bad, cnt, div)
            return (Qn, s + logr, cnt, div), None

        (Q, s, cnt, div), _ = jax.lax.scan(back, (Q, s, cnt, div), (xs, uu), reverse=True)
        return Q, s, cnt, div

    zero = jnp.zeros(k, x.dtype)
    c = (Q, zero, jnp.asarray(0), jnp.asarray(-1))
    if transient:
        c = segment(c, x_disc, sl(off + steps, off + steps + transient), transient)
        Qn, logr = qr(c[0])  # flush, then discard what the transient accumulated
        c = (Qn, zero, jnp.asarray(0), jnp.where(c[3] >= 0, 0, -1))
    if tail:
        c = segment(c, x_tail, sl(off + rows * L, off + steps), tail)

    def row(c, xs_u):
        start, u = xs_u
        c = segment(c, start, u, L)
        Qn, logr = qr(c[0])  # a QR at each row boundary (harmless: QR is idempotent)
        c = (Qn, c[1] + logr, c[2], c[3])
        return c, c[1]

    c, hist = jax.lax.scan(row, c, (starts, us_rows), reverse=True)
    # scan(reverse=True) stacks outputs in input order: row 0 is the *last* processed.
    hist = hist[::-1]
    Q, s, _, div = c
    return x_disc, Q, s, hist, div, tail, L


# --------------------------------------------------------------------------- checks


def _check_k(k, dim: int) -> int:
    if k is None:
        return dim
    k = v.positive_int(k, "k")
    if k > dim:
        raise ValueError(f"`k` must be at most the state dimension {dim}, got k={k}.")
    return k


def _check_inputs(m: Map, inputs, n: int):
    if inputs is None:
        return None
    if not isinstance(m, DrivenMap):
        raise ValueError(
            f"`inputs` was given but {type(m).__name__} is not a cj.systems.DrivenMap; only "
            "input-driven maps (e.g. cj.systems.RNN) accept a driving sequence."
        )
    u = jnp.asarray(inputs)
    if not jnp.issubdtype(u.dtype, jnp.floating):
        u = u.astype(jnp.result_type(float))
    n_in = m.n_inputs
    if u.ndim != 2 or u.shape[1] != n_in or u.shape[0] < n:
        want = f"({n}, {n_in})"
        raise ValueError(
            f"`inputs` must have shape {want} (one row per transient + accumulated step), "
            f"got shape {tuple(u.shape)}."
        )
    # numpy, not jnp: inside a jit trace a jnp operation on a closed-over concrete
    # array returns a tracer, which cannot be converted to a bool.
    if v.is_concrete(u) and not np.all(np.isfinite(np.asarray(u))):
        raise ValueError("`inputs` must be finite.")
    return u[:n]


def _check_invertible(m: Map, x: Array, inputs) -> None:
    """Raise if a map without `inverse_step` has a singular Jacobian along its orbit."""
    if m.has_inverse or isinstance(m, AbstractDiscretizedFlow):
        return  # the time-dt map of a flow is a diffeomorphism
    if is_traced(x, m):
        return  # parameters traced (a sweep): checked at run time by the NaNs it makes
    y = x
    worst = np.inf
    for i in range(8 if inputs is None else min(8, inputs.shape[0])):
        u = None if inputs is None else inputs[i]
        J = np.asarray(jax.jacfwd(lambda z: step(m, z, u))(y))
        sv = np.linalg.svd(J, compute_uv=False)
        worst = min(worst, sv[-1] / sv[0] if sv[0] > 0 else 0.0)
        y = step(m, y, u)
    if not worst > 1e-12:
        raise ValueError(
            f"`inverse=True` needs an invertible map, but {type(m).__name__} has no "
            f"`inverse_step` and its Jacobian is singular along the orbit from `x0` "
            f"(smallest/largest singular value {worst:.3g}); the inverted map's spectrum "
            "is undefined."
        )


def _check_resume(resume, dim, k, transient, inverse, m):
    if not isinstance(resume, LyapunovResult):
        raise ValueError(f"`resume` must be a LyapunovResult, got {type(resume).__name__}.")
    if resume.basis.shape[-2] != dim:
        raise ValueError(
            f"`resume` holds a basis of dimension {resume.basis.shape[-2]}, but the system "
            f"has dimension {dim}."
        )
    kr = resume.basis.shape[-1]
    if k is not None and k != kr:
        raise ValueError(f"`k` must match the resumed run's k={kr} (or be None), got {k}.")
    if transient:
        raise ValueError(f"`transient` must be 0 when resuming, got {transient}.")
    if inverse:
        raise ValueError("`inverse=True` runs cannot be resumed (they run backwards).")
    if float(resume.time_per_step) != float(m.time_per_step):
        raise ValueError(
            f"`resume` was run with time per step {resume.time_per_step}, this call with "
            f"{m.time_per_step}."
        )
    return resume.final_state, kr


_default_bases: dict = {}


def _initial_basis(dim: int, k: int, key, dtype) -> Array | np.ndarray:
    """The orthonormal (dim, k) basis a run starts from: the identity for a full
    spectrum, else the Q of a normal sample of `key` (default `jax.random.key(0)`).
    The default one is computed once per shape and precision, eagerly (also under a
    trace), and handed out as NumPy: a compiled run then holds it as a constant
    instead of generating and factoring it at every call (a threefry loop and two
    LAPACK calls, the most of a short run's program). The same bits either way."""
    if key is None:
        if k == dim:
            return np.eye(dim, dtype=dtype)  # NumPy: no eager dispatch (kernels take it)
        at = (dim, k, np.dtype(dtype).name)
        Q = _default_bases.get(at)
        if Q is None:
            with jax.ensure_compile_time_eval():  # (concrete also inside a trace)
                Q = np.asarray(_default_basis(dim, k, np.dtype(dtype)))
            Q.flags.writeable = False
            _default_bases[at] = Q
        return Q
    return _sampled_basis(v.prng_key(key), dim, k, dtype)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _default_basis(dim: int, k: int, dtype) -> Array:
    # One compiled call (an eager sample and QR would compile each op: ~0.4 s).
    return _sampled_basis(jax.random.key(0), dim, k, dtype)


def _sampled_basis(key, dim: int, k: int, dtype) -> Array:
    Q, _ = jnp.linalg.qr(jax.random.normal(key, (dim, k), dtype=dtype))
    return Q


def _raise_if_diverged(div, throw: bool, what: str) -> None:
    if throw and not is_traced(div):
        raise_diverged(
            div,
            what,
            subject="the state or tangent vectors",
            at="by step",
            origin="after the transient; pass throw=False to get the partial result",
        )


_ONE_CALL_WORK = 1 << 26
"""The most work (steps x dim x k x (dim + k)) of a concrete run done as one compiled
call (`_one_call`): about 0.1-0.2 s, as one call of the C loop (longer runs go in calls
of this size, so that Ctrl-C stops them between calls)."""

_one_calls: dict = {}


def _one_call_state(x0) -> bool:
    """Whether `x0` is a state a one-call run takes (`_remembered.concrete_state`)."""
    return getattr(x0, "ndim", None) == 1 and _remembered.concrete_state(x0, x0.shape[0])


def _one_call(m, x0, steps, transient, k, qr_every, history, qr, use_jacobian, keep=None):
    """`spectrum_on_map` of a concrete, short, undriven forward run as one cached `jit`
    of the whole run (the generated C kernel as an XLA custom call where it applies,
    the results finished in the same call), or None (the caller runs it step by step).

    The run's own `jit` makes an eager call cost what a call inside the user's `jit`
    costs, and gives the same bits: one dispatch instead of NumPy finishing, a device
    transfer and the dispatches around the loop (each ~0.2 ms after an idle pause).
    None also when the run diverged: the caller then locates the step exactly. `keep`,
    given, is called with the compiled run and `m`'s array leaves when it ran.
    """
    if not _one_call_state(x0):
        return None
    leaves, treedef = jax.tree.flatten(m)
    mask = tuple(eqx.is_array(a) for a in leaves)
    arrays = [a for a, is_array in zip(leaves, mask, strict=True) if is_array]
    if any(isinstance(a, Tracer) for a in arrays):
        return None
    static = tuple(a for a, is_array in zip(leaves, mask, strict=True) if not is_array)
    # (whether the C kernels may run is read when the call is traced: part of the key)
    at = (treedef, mask, static, x0.shape, steps, transient, k, qr_every, history, qr)
    at = (*at, native.enabled())
    try:
        fn = _one_calls.get((*at, use_jacobian))
    except TypeError:  # an unhashable static leaf
        return None
    first = fn is None
    if first:
        dim = x0.shape[0] - (1 if _with_time(m) else 0)
        kk = dim if k is None else k
        if (steps + transient) * dim * kk * (dim + kk) > _ONE_CALL_WORK or (jax.device_count() > 1):
            fn = False
        else:

            def run(arrays, x):
                it = iter(arrays)
                leaves = [next(it) if is_array else a for a, is_array in zip(others, mask)]
                return spectrum_on_map(
                    jax.tree.unflatten(treedef, leaves), x, steps=steps, transient=transient,
                    k=k, qr_every=qr_every, history=history, qr=qr, use_jacobian=use_jacobian,
                )  # fmt: skip

            others = [None if is_array else a for a, is_array in zip(leaves, mask, strict=True)]
            fn = (jax.jit(run), None)  # (whether checked: known once traced)
        if len(_one_calls) >= 256:
            _one_calls.clear()
        _one_calls[(*at, use_jacobian)] = fn
    if fn is False:
        return None
    fn, checked = fn
    try:
        # Traced in `checked_calls`, the run's native kernels fail where it diverged,
        # so a run that returns needs no look at `diverged_at` (which a run on the
        # XLA path still gets).
        with native.checked_calls() as seen:
            res = fn(arrays, x0)
            if checked is None:
                checked = seen["checked"]
                _one_calls[(*at, use_jacobian)] = (fn, checked)
            if checked:
                jax.block_until_ready(res.exponents)
    except Exception as e:  # noqa: BLE001 - e.g. a map whose `time_per_step` needs its values:
        from ..native.ffi import failed_check

        if failed_check(e):
            return None  # diverged: the caller locates the step
        if not first:  # the caller's step-by-step run gives the result or the error
            raise
        _one_calls[(*at, use_jacobian)] = False
        return None
    if not checked and not _not_diverged(res):
        return None
    if keep is not None:
        keep(_in_checked_calls(fn) if checked else fn, arrays, checked)
    return res


def _in_checked_calls(fn):
    """`fn` called within `native.checked_calls()` (should it be traced again)."""

    def run(arrays, x):
        with native.checked_calls():
            return fn(arrays, x)

    return run


# --------------------------------------------------------------------------- public


def spectrum_on_map(
    m: Map,
    x0: Float[ArrayLike, " dim"],
    *,
    steps: int,
    transient: int = 0,
    k: int | None = None,
    qr_every: int = 1,
    inverse: bool = False,
    inputs: Float[ArrayLike, "n n_inputs"] | None = None,
    history: int = 200,
    qr: str = "auto",
    use_jacobian: bool | None = None,
    key: PRNGKeyArray | None = None,
    resume: LyapunovResult | None = None,
) -> LyapunovResult:
    """The Lyapunov spectrum of one orbit of a `cj.Map`, without checking the arguments.

    The QR method of `lyapunov_spectrum` (Benettin, Galgani, Giorgilli & Strelcyn 1980,
    Meccanica 15, 9-30) on a map you assembled yourself (or `cj.as_map` of a system):
    `lyapunov_spectrum` checks its arguments, turns a flow into its map and calls this.
    Nothing is validated here and nothing is raised on divergence (read
    `diverged_at`), so it can run inside `jit` and `vmap`, e.g. over a parameter
    sweep.

    **Arguments:**

    - `m`: a `cj.Map` (for a flow, `cj.as_map(flow, dt)`); exponents are divided by its
      `time_per_step`.
    - `x0`: the initial state, shape (dim,).
    - `steps`: accumulated steps after the transient, a positive int.
    - `transient`: steps run first, during which the state and the tangent basis
      converge; discarded (default 0).
    - `k`: the number of exponents (default None: dim, or the map's `manifold_dim`).
    - `qr_every`: steps between re-orthonormalisations (default 1).
    - `inverse`: the spectrum of the inverted map (default False).
    - `inputs`: driving inputs of a `cj.DrivenMap`, as in `lyapunov_spectrum`.
    - `history`: the most running estimates kept (default 200).
    - `qr`: the orthonormalisation: "auto" (default), "gram_schmidt", "cholesky" or
      "householder".
    - `use_jacobian`: True to use the map's analytic `jacobian`, False for autodiff of
      `step`; default None: the analytic one when the map has it.
    - `key`: PRNG key for the initial tangent basis when k < dim (default a fixed key).
    - `resume`: a previous `LyapunovResult` to continue: pass its `final_state` as `x0`
      and `transient=0`; its basis, sums, step count and history carry on.

    **Returns:**

    A `LyapunovResult`, exponents per unit of `m.time_per_step` (per iteration for a
    map).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    m = cj.as_map(lor, dt=0.01)
    res = cj.lyapunov.spectrum_on_map(m, lor.default_state(), steps=20_000,
                                      transient=1_000)
    res.exponents                          # ~[0.9, 0.0, -14.6]
    ```
    """
    if resume is None and inputs is None and key is None and not inverse:
        got = _one_call(m, x0, steps, transient, k, qr_every, history, qr, use_jacobian)
        if got is not None:
            return got
    x = jnp.asarray(x0)
    timed = _with_time(m)
    # The map of a time-dependent flow acts on (x, t); the tangent vectors span x only.
    dim = x.shape[-1] - 1 if timed else x.shape[-1]
    if k is None:  # all exponents: dim - 1 for a map on a section (`cj.PoincareMap`)
        k = m.manifold_dim if type(m).manifold_dim is not Map.manifold_dim else dim
    driven = inputs is not None
    if use_jacobian is None:
        use_jacobian = m.has_analytic_jacobian
    push = InversePush(m) if inverse else forward_push(m, driven=driven, use_jacobian=use_jacobian)
    if timed:
        push = TimeFixedPush(push)
    near_identity = isinstance(m, Discretized) and qr_every == 1 and not inverse
    method = _qr.resolve(qr, dim, k, near_identity)
    qr_fn = _qr.KERNELS[method]
    Q0 = _initial_basis(dim, k, key, x.dtype) if resume is None else resume.basis
    backend = "xla"
    if inverse:
        x_end, Q_end, s, hist, div, tail, L = _inverse_kernel(
            push, qr_fn, x, Q0, inputs, steps, transient, qr_every, history
        )
        hist_steps = (tail + jnp.arange(1, hist.shape[0] + 1) * L).astype(_count_dtype())
    else:
        plan = _plan(steps, qr_every, history)
        out = None
        if inputs is None and not timed and method != "householder":
            # Generated C first (the same push, the time loop in registers, modified
            # Gram-Schmidt); None when unsupported (not float64, no compiler): the XLA
            # kernel. Driving inputs always take the XLA kernel.
            out = native.lyapunov_spectrum(
                push,
                x,
                Q0,
                qr_every=qr_every,
                run=lambda b, x, Q: run_plan(b, x, Q, transient, qr_every, plan),
                batch=(_qr.RAW_KERNELS[method], transient, plan),
                xla=lambda push, x, Q: _spectrum_kernel(
                    push, qr_fn, x, Q, None, steps, transient, qr_every, history
                ),
            )
        backend = "xla" if out is None else "native"
        if (
            out is None
            and inputs is None
            and not is_traced(x, Q0, push)
            and _long_run(steps, transient, dim, k)
        ):
            out = _spectrum_chunked(push, qr_fn, x, Q0, steps, transient, qr_every, history)
        if out is None:
            out = _spectrum_kernel(push, qr_fn, x, Q0, inputs, steps, transient, qr_every, history)
        x_end, Q_end, s, hist, div, x_run = out
        if not is_traced(div, x_run) and int(div) > 0:
            # Locate the step exactly: re-run the state alone up to the flagged row end.
            first = int(
                first_nonfinite(
                    m,
                    jnp.asarray(x_run),
                    int(div),
                    None if inputs is None else jnp.asarray(inputs)[transient:],
                )
            )
            div = np.asarray(first if first > 0 else int(div), _count_dtype())
        rows, per_row, _, _ = plan
        hist_steps = np.arange(1, rows + 1, dtype=np.int64) * (per_row * qr_every)
    tau = float(m.time_per_step)
    if is_traced(x_end, Q_end, s, hist, div, hist_steps, resume):
        arrays = _finish(
            jnp, x_end, Q_end, s, hist, div, hist_steps, resume, steps=steps, tau=tau, timed=timed
        )
    else:
        # Concrete results, whichever kernel ran: finished on the host with NumPy and
        # moved to the device in one call. (An XLA computation here, after a long C
        # call has left XLA's threads asleep, cost milliseconds on a loaded machine.)
        x_end, Q_end, s, hist, div, hist_steps = (
            np.asarray(a) for a in (x_end, Q_end, s, hist, div, hist_steps)
        )
        arrays = _finish(
            np, x_end, Q_end, s, hist, div, hist_steps, resume, steps=steps, tau=tau, timed=timed
        )
        arrays = _to_device(arrays)
    return LyapunovResult(**arrays, steps=steps + _done(resume), time_per_step=tau, backend=backend)


_identity = jax.jit(lambda arrays: arrays)


def _to_device(arrays):
    """NumPy arrays to JAX arrays in one call (cheaper than `jax.device_put` of each;
    that under `jax.disable_jit()`, where the jitted identity returns its arguments)."""
    if getattr(jax.config, "jax_disable_jit", False):
        return jax.device_put(arrays)
    return _identity(arrays)


def _finish(xp, x_end, Q_end, s, hist, div, hist_steps, resume, *, steps, tau, timed):
    """The arrays of a `LyapunovResult` from a kernel's results, with the array module
    `xp` (NumPy for concrete results, jax.numpy under a trace): exponents and history
    per unit time, sorted; a resumed run's sums, steps and history first."""
    count = _count_dtype()
    k = s.shape[-1]
    hist_steps = hist_steps.astype(count)
    if timed:
        x_end = x_end[..., :-1]  # the state without its time
    done = 0
    prev_hist = xp.zeros((0, k), s.dtype)
    prev_steps = xp.zeros((0,), count)
    if resume is not None:
        # Continue the earlier run: its sums and steps count, its history comes first.
        done = resume.steps
        sums = xp.asarray(resume.log_sums)
        s = s + sums
        hist = hist + sums[None, :]
        hist_steps = hist_steps + done
        prev_hist, prev_steps = xp.asarray(resume.history), xp.asarray(resume.history_steps)
        was = xp.asarray(resume.diverged_at)
        div = xp.where(was >= 0, was, xp.where(div >= 0, div + done, div))
    if not hist.shape[0]:  # fewer steps than one QR block: one row, the final estimate
        hist, hist_steps = s[None, :], xp.asarray([steps + done], count)
    hist = hist / (hist_steps[:, None].astype(hist.dtype) * tau)
    exps = s / ((steps + done) * tau)
    return dict(
        exponents=-xp.sort(-exps),
        history=xp.concatenate([prev_hist, -xp.sort(-hist, axis=-1)]),
        history_steps=xp.concatenate([prev_steps, hist_steps]),
        diverged_at=xp.asarray(div, count),
        final_state=x_end,
        basis=Q_end,
        log_sums=s,
    )


def lyapunov_spectrum(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    steps: int | None = None,
    *,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    k: int | None = None,
    qr_every: int = 1,
    inverse: bool = False,
    inputs: Float[ArrayLike, "n n_inputs"] | None = None,
    history: int = 200,
    throw: bool = True,
    key: PRNGKeyArray | None = None,
    qr: str = "auto",
    resume: LyapunovResult | None = None,
) -> LyapunovResult:
    """The k largest Lyapunov exponents of a flow or map by the QR (Benettin) method.

    k orthonormal tangent vectors are pushed through the Jacobian of the one-step map
    (`jax.linearize` of `step`, or the system's analytic `jacobian`); every `qr_every`
    steps they are re-orthonormalised, V = Q R with diag(R) > 0, and log diag(R) is
    added to a running sum carried in the scan. The exponents are the sums divided by
    the elapsed time. `transient` steps come first (state and tangent basis both
    converge) and are discarded.

    With `inverse=True` the spectrum of the inverted map F^-1 is computed along the
    *forward* orbit (the inverted map is a repeller): the tangent vectors are pushed by
    D F^-1(F(x)) = DF(x)^-1 (A. Maus 2011, "Inverted Delayed Henon Map",
    https://adammaus.com/wp/2011/04/inverted-delayed-henon-map/); it equals minus the
    forward spectrum.

    For an input-driven map (`cj.systems.RNN`) pass `inputs`, one row per step
    (transient + steps rows): the step is then non-autonomous, x_{n+1} = F(x_n, u_n),
    and the exponents are those of the driven system (Engelken, Wolf & Abbott 2020,
    "Lyapunov spectra of chaotic recurrent neural networks", arXiv:2006.02427).

    **Arguments:**

    - `system`: a `cj.Flow` (discretised with `solver` and `dt`) or `cj.Map`. For a
      time-dependent flow (`vector_field(t, x)`, integrated from t = 0) the tangent
      dynamics are those of x at fixed t: dim exponents, no zero one for the time.
    - `x0`: the initial state, shape (dim,), or (n, dim) for n orbits at once
      (vmapped); default `system.default_state()` (the resumed state when resuming).
    - `steps`: accumulated steps after the transient, a positive int.
    - `t_final`: the accumulated time instead (steps = t_final / dt, a whole number);
      give exactly one of `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver: "rk4" (default), "euler", or adaptive "tsit5",
      "dopri5", "dopri8".
    - `transient`: steps run first, during which the state and the tangent basis
      converge; discarded (default 0).
    - `k`: the number of exponents (default None: all, i.e. dim, or the map's
      `manifold_dim`: dim - 1 for a `cj.PoincareMap`); k < dim propagates only k
      vectors.
    - `qr_every`: steps between re-orthonormalisations (default 1; valid while the
      tangent vectors stay well conditioned over that many steps).
    - `inverse`: the inverted map's spectrum (default False; maps without
      `inverse_step` need an invertible Jacobian).
    - `inputs`: driving inputs of a `cj.DrivenMap`, shape (transient + steps,
      n_inputs), or (2 transient + steps, n_inputs) with `inverse=True`; default None.
    - `history`: the most running estimates kept, thinned evenly (default 200).
    - `throw`: raise `cj.DivergenceError` if the orbit blows up (default True; outside
      `jit`; under a trace read `diverged_at`).
    - `key`: PRNG key for the initial tangent basis when k < dim (default a fixed key).
    - `qr`: "auto" (default: scalar Gram-Schmidt or Cholesky QR for dim <= 8, else
      Householder), or one of "gram_schmidt", "cholesky", "householder".
    - `resume`: a previous `LyapunovResult` of the same system to continue (default
      None): the run starts from its final state and basis (`x0` may be None,
      `transient` must be 0), and the sums, step count and history carry on, so
      `exponents` are those of the whole run. Long runs can thus be done (and saved) in
      pieces.

    **Returns:**

    A `LyapunovResult`; `exponents` (k,) (or (n, k)) sorted descending, per unit time
    for flows and per iteration for maps.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    res = cj.lyapunov_spectrum(lor, lor.default_state(), steps=100_000, dt=0.01,
                               transient=1_000)
    res.exponents        # ~[0.91, 0.0, -14.58]
    ```
    """
    return _spectrum(
        system, x0, steps, dt, solver, transient, k, qr_every, inverse, inputs, history,
        throw, key, qr, resume, t_final,
    )  # fmt: skip


def _count_dtype():
    """Step counts: int64 with 64-bit JAX (runs beyond 2**31 steps), else int32."""
    return jax.dtypes.canonicalize_dtype(np.int64)


def _done(resume) -> int:
    """The steps a resumed run has counted already (0 without one)."""
    return resume.steps if isinstance(resume, LyapunovResult) else 0


def _spectrum(
    system, x0, steps, dt, solver, transient, k, qr_every, inverse, inputs, history, throw,
    key, qr, resume, t_final=None,
):  # fmt: skip
    """`lyapunov_spectrum`, unannotated: `max_lyapunov` calls it with arguments its own
    checks will name (a type checker wrapping `lyapunov_spectrum` would name them first)."""
    simple = resume is None and inputs is None and key is None and inverse is False
    settings = None
    if simple:
        settings = _remembered.settings(
            steps, t_final, dt, solver, transient, k, qr_every, history, qr, throw
        )
        got = _settled_call(system, x0, settings)
        if got is not None:
            return got
    m = as_map(system, dt, solver, time_dependent=True)
    throw = v.boolean(throw, "throw")
    transient = v.step_count(transient, "transient", positive=False)
    steps = v.steps_or_time(
        steps,
        t_final,
        float(m.time_per_step),
        total=transient * (2 if inverse is True else 1) + _done(resume),
    )
    qr_every = v.positive_int(qr_every, "qr_every")
    history = v.positive_int(history, "history")
    key = v.optional_prng_key(key)
    v.one_of(qr, "qr", _qr.METHODS)
    if not isinstance(inverse, bool):
        raise ValueError(f"`inverse` must be a bool, got {inverse!r}.")
    dim = system.dim
    timed = is_time_dependent(system)
    if timed and (inverse or resume is not None or inputs is not None):
        raise ValueError(
            f"{type(system).__name__} depends on time: `inverse`, `resume` and `inputs` are "
            "not supported for it; use cj.StroboscopicMap(flow, period) for those."
        )
    if resume is not None:
        x0, k = _check_resume(resume, dim, k, transient, inverse, m)
    elif x0 is None:
        x0 = system.default_state()
    k = _check_k(k, m.manifold_dim if isinstance(system, Map) else dim)
    x = v.state(x0, dim, "x0")
    # An inverted driven run also needs inputs for the backward basis' transient,
    # `transient` steps beyond the accumulated ones.
    u = _check_inputs(m, inputs, transient + steps + (transient if inverse else 0))
    if inverse:
        # The backward pass regenerates the orbit a segment at a time (steps / rows
        # states of every member at once): that segment must fit.
        rows = max(1, min(history, steps))
        segment = -(-steps // rows)
        v.output_fits(
            segment * x.size * 2 * jnp.dtype(x.dtype).itemsize,
            "steps",
            f"the inverted run's orbit segments of {segment} states (steps / history)",
            "raise `history` (more, shorter segments), or run fewer `steps`",
        )
        _check_invertible(m, x if x.ndim == 1 else x[0], u)
    run = lambda x0_, prev: spectrum_on_map(
        m,
        x0_,
        steps=steps,
        transient=transient,
        k=k,
        qr_every=qr_every,
        inverse=inverse,
        inputs=u,
        history=history,
        qr=qr,
        key=key,
        resume=prev,
    )
    x = with_time(system, x)
    if settings is not None and x.ndim == 1 and not timed:
        keep = lambda fn, arrays, checked: _remembered.remember(  # noqa: E731
            "lyapunov_spectrum", system, settings, fn, arrays, checked
        )
        got = _one_call(m, x, steps, transient, k, qr_every, history, qr, None, keep)
        if got is not None:
            return got
    res = jax.vmap(run)(x, resume) if x.ndim == 2 else run(x, resume)
    _raise_if_diverged(res.diverged_at, throw, "lyapunov_spectrum")
    return res


def _settled_call(system, x0, settings):
    """The result of a call whose system and settings passed the checks before
    (`_remembered`), for a new concrete float64 state of the right shape, or None (the
    caller checks everything, and locates a divergence)."""
    return _remembered.run("lyapunov_spectrum", system, settings, x0, verify=_not_diverged)


def _not_diverged(res) -> bool:
    return bool(np.asarray(res.diverged_at) < 0)  # (cheaper than int() of a JAX array)


def max_lyapunov(
    system: Flow | Map,
    x0: Float[ArrayLike, "*batch dim"] | None = None,
    steps: int | None = None,
    *,
    t_final: float | None = None,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    renorm_every: int = 1,
    inverse: bool = False,
    inputs: Float[ArrayLike, "n n_inputs"] | None = None,
    history: int = 200,
    throw: bool = True,
    key: PRNGKeyArray | None = None,
) -> LyapunovResult:
    """The largest Lyapunov exponent, by renormalising a single tangent vector.

    One tangent vector is pushed through the Jacobian of the one-step map and
    renormalised every `renorm_every` steps; the mean log growth per unit time (flows)
    or per iteration (maps) is the largest exponent (Benettin et al. 1980). Cheaper
    than the spectrum: one Jacobian-vector product per step, no QR.

    **Arguments:**

    - `system`: a `cj.Flow` (discretised with `solver` and `dt`; time-dependent ones as
      in `lyapunov_spectrum`) or `cj.Map`.
    - `x0`: the initial state, shape (dim,), or (n, dim) for n orbits at once; default
      `system.default_state()`.
    - `steps`: accumulated steps after the transient, a positive int.
    - `t_final`: the accumulated time instead (steps = t_final / dt); give exactly one
      of `steps` and `t_final`.
    - `dt`: the time per step of a flow (time units); default the flow's `default_dt`;
      None for a map.
    - `solver`: a flow's solver, as in `lyapunov_spectrum` (default "rk4").
    - `transient`: steps run and discarded first (default 0).
    - `renorm_every`: steps between renormalisations (default 1).
    - `inverse`: the largest exponent of the inverted map (default False).
    - `inputs`: driving inputs of a `cj.DrivenMap`, as in `lyapunov_spectrum`.
    - `history`: the most running estimates kept (default 200).
    - `throw`: raise `cj.DivergenceError` if the orbit blows up (default True).
    - `key`: PRNG key for the initial tangent vector (default a fixed key).

    **Returns:**

    A `LyapunovResult` with `exponents` of shape (1,) (or (n, 1)); `.largest` is the
    exponent itself, per unit time for flows and per iteration for maps.

    Example:

    ```python
    lam = cj.max_lyapunov(cj.systems.Henon(), jnp.zeros(2), steps=100_000).largest  # ~0.419
    # a parameter sweep in one compiled call:
    rs = jnp.linspace(3.5, 4.0, 1_000)
    lams = jax.vmap(lambda r: cj.max_lyapunov(cj.systems.Logistic(r=r),
                    jnp.array([0.3]), steps=2_000, transient=500).largest)(rs)
    ```
    """
    renorm_every = v.positive_int(renorm_every, "renorm_every")
    return _spectrum(
        system, x0, steps, dt, solver, transient, 1, renorm_every, inverse, inputs, history,
        throw, key, "auto", None, t_final,
    )  # fmt: skip


def finite_time_lyapunov(
    system: Flow | Map,
    x0: Float[ArrayLike, " dim"],
    *,
    window: int,
    windows: int,
    dt: float | None = None,
    solver: str = "rk4",
    transient: int = 0,
    k: int | None = 1,
    qr_every: int = 1,
    inputs: Float[ArrayLike, "n n_inputs"] | None = None,
    throw: bool = True,
    key: PRNGKeyArray | None = None,
) -> FiniteTimeLyapunov:
    """The distribution of finite-time Lyapunov exponents over consecutive windows.

    One orbit is followed for `windows` x `window` steps after the transient, carrying
    the tangent basis across windows (so each window starts from converged
    directions); the log-growth of each window divided by its duration is one
    finite-time exponent. Their mean is the ordinary exponent; their spread measures
    how unevenly chaos is distributed along the attractor (e.g. Abarbanel, Brown &
    Kennel 1991, J. Nonlinear Sci. 1, 175).

    **Arguments:**

    - `system`: a `cj.Flow` (discretised with `solver` and `dt`) or `cj.Map`.
    - `x0`: the initial state, shape (dim,).
    - `window`: steps per window, a multiple of `qr_every`.
    - `windows`: the number of windows, a positive int.
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: a flow's solver, as in `lyapunov_spectrum` (default "rk4").
    - `transient`: steps run and discarded first (default 0).
    - `k`: the number of exponents per window (default 1: the largest).
    - `qr_every`: steps between re-orthonormalisations (default 1).
    - `inputs`: driving inputs of a `cj.DrivenMap`, shape (transient + window *
      windows, n_inputs); default None.
    - `throw`: raise `cj.DivergenceError` if the orbit blows up (default True).
    - `key`: PRNG key for the initial tangent basis when k < dim (default a fixed key).

    **Returns:**

    A `FiniteTimeLyapunov` with `exponents` (windows, k), per unit time for flows and
    per iteration for maps.

    Example:

    ```python
    ftle = cj.finite_time_lyapunov(cj.systems.Henon(), jnp.zeros(2), window=20,
                                   windows=5_000, transient=1_000)
    ftle.mean, ftle.std
    ```
    """
    window = v.positive_int(window, "window")
    windows = v.positive_int(windows, "windows")
    m = as_map(system, dt, solver)
    throw = v.boolean(throw, "throw")
    transient = v.nonnegative_int(transient, "transient")
    qr_every = v.positive_int(qr_every, "qr_every")
    if window % qr_every:
        raise ValueError(f"`window` ({window}) must be a multiple of `qr_every` ({qr_every}).")
    k = _check_k(k, system.dim)
    key = v.optional_prng_key(key)
    x = v.state(x0, system.dim, "x0", batch=False)
    u = _check_inputs(m, inputs, transient + window * windows)
    push = forward_push(m, driven=u is not None, use_jacobian=m.has_analytic_jacobian)
    near_identity = isinstance(m, Discretized) and qr_every == 1
    qr_fn = _qr.KERNELS[_qr.resolve("auto", system.dim, k, near_identity)]
    Q0 = _initial_basis(system.dim, k, key, x.dtype)
    # With `windows` history rows, row i holds the (unsorted) log-sums after i+1 windows.
    _, _, _, sums, div, _ = _spectrum_kernel(
        push, qr_fn, x, Q0, u, window * windows, transient, qr_every, windows
    )
    tau = float(m.time_per_step)
    incr = jnp.diff(sums, axis=0, prepend=jnp.zeros((1, k), sums.dtype)) / (window * tau)
    _raise_if_diverged(div, throw, "finite_time_lyapunov")
    return FiniteTimeLyapunov(
        exponents=incr,
        window_starts=(jnp.arange(windows) * window).astype(jnp.int32),
        diverged_at=div,
        window=window,
        time_per_step=tau,
    )
