"""Classification of omega-limit sets: fixed point, periodic orbit, quasi-periodic orbit,
chaotic attractor, divergence, or unresolved, with the evidence behind the label.

After a transient, points of the omega-limit set are sampled (map iterates, or the
crossings of a Poincare section for a flow), their return distances give the period
(`period.py`), and the sign pattern of the leading Lyapunov exponents (Benettin et al.
1980, Meccanica 15, 9-20, https://doi.org/10.1007/BF02128236; by
`cj.lyapunov.spectrum_on_map`) tells equilibria, cycles, tori and chaos apart, as in the
steady-state analysis of Parker & Chua (1989), *Practical Numerical Algorithms for
Chaotic Systems*, Springer, ch. 2, https://doi.org/10.1007/978-1-4612-3486-9. The
evidence is returned with the label, and a label the evidence does not support is never
forced ("unresolved").

The options of the method are one Module, `ClassifyOptions`, which checks itself; the
keyword arguments of `classify_attractor` / `classify_sweep` (`transient=...`) are a
shorthand for it, turned into one in `_options` and nowhere else.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .. import _validate as v
from .._results import Dims, Result
from ..discretize import as_map
from ..lyapunov import spectrum_on_map
from ..systems import Flow, Map
from ._common import check_param, checked_dt, initial_states, iterate, over_values, shard_sweep
from .period import smallest_period
from .sections import AbstractSection, check_section, section_crossings

LABELS: tuple[str, ...] = (
    "fixed_point", "periodic", "quasi_periodic", "chaotic", "divergent", "unresolved",
)  # fmt: skip
"""Attractor labels, indexed by `Classification.code`."""
_FP, _PER, _QP, _CH, _DIV, _UNR = range(6)


class Classification(Result):
    """The omega-limit set of one orbit (or of each run of a parameter sweep, along a
    leading axis n), with the evidence behind its label (what `classify_attractor` and
    `classify_sweep` return).

    **Attributes:**

    - `code`: index into `cj.bifurcation.LABELS` (`label` / `labels` give the names):
      fixed_point, periodic, quasi_periodic, chaotic, divergent, unresolved.
    - `period`: the detected period (iterations for maps, section crossings per period
      for flows); 1 for a fixed point, 0 when none up to `max_period`.
    - `period_time`: the time of one period: for flows the mean over the stored
      crossings (time units), for maps `period` iterations; NaN when not periodic.
    - `return_distances`: (max_period,), max_k |x_{k+p} - x_k| for each p.
    - `threshold`: the tolerance the return distances were compared with.
    - `exponents`: (k,), the leading Lyapunov exponents (per unit time for flows, per
      iteration for maps).
    - `amplitude`: (dim,), max - min of each coordinate over the sampled orbit.
    - `crossings`: the number of section points stored (flows; `keep` for maps).
    - `final_state`: (dim,), the state after the sampled orbit.

    Example:

    ```python
    c = cj.classify_sweep(cj.systems.Logistic(), "r", jnp.array([2.8, 3.2, 3.5, 3.9]),
                          jnp.array([0.5]))
    c.labels       # ['fixed_point', 'periodic', 'periodic', 'chaotic']
    c.period       # [1, 2, 4, 0]
    ```
    """

    code: Int[Array, "*n"]
    period: Int[Array, "*n"]
    period_time: Float[Array, "*n"]
    return_distances: Float[Array, "*n max_period"]
    threshold: Float[Array, "*n"]
    exponents: Float[Array, "*n k"]
    amplitude: Float[Array, "*n dim"]
    crossings: Int[Array, "*n"]
    final_state: Float[Array, "*n dim"]

    _xarray_dims: ClassVar[dict[str, Dims]] = {
        "return_distances": ("max_period",),
        "exponents": ("exponent",),
        "amplitude": ("variable",),
        "final_state": ("variable",),
    }

    @property
    def label(self) -> str:
        """The label of a single classification."""
        if jnp.ndim(self.code) != 0:
            raise ValueError("a batched Classification has `labels`, not one `label`.")
        return LABELS[int(self.code)]

    @property
    def labels(self) -> list[str]:
        """The label of every run, in order."""
        return [LABELS[int(c)] for c in np.asarray(self.code).reshape(-1)]

    def counts(self) -> dict[str, int]:
        """How many runs carry each label.

        **Returns:**

        A dict from label to count; labels that no run carries are left out.
        """
        out = {name: 0 for name in LABELS}
        for name in self.labels:
            out[name] += 1
        return {k: n for k, n in out.items() if n}


def _int_option(value: Any) -> Any:
    # NumPy integers become ints (the options are static, hashed by jit); anything else
    # is left for __check_init__ to name.
    return int(value) if isinstance(value, np.integer) else value


def _float_option(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class ClassifyOptions(eqx.Module):
    """How `classify_attractor` and `classify_sweep` sample and judge an omega-limit set.

    The defaults marked "by system" depend on whether the system is a flow or a map and
    are filled in when the options are used.

    **Arguments:**

    - `section`: flows only: the Poincare section whose crossings are sampled, a
      `cj.Hyperplane`, `cj.LocalMaxima(i)` or `cj.LocalMinima(i)`; default
      `cj.LocalMaxima(0)`.
    - `transient`: steps (iterations) discarded first; default 10,000.
    - `keep`: points of the omega-limit set sampled (map iterates or section crossings);
      at least 2 * `max_period`; default 256.
    - `steps`: flows only: the most steps taken to find `keep` crossings; default
      200 * `keep`.
    - `lyap_steps`: steps over which the exponents are averaged, after the sample;
      default 10,000.
    - `exponents`: how many leading exponents; by system: 1 for maps, 2 for flows (at
      most dim).
    - `max_period`: the largest period tested; default 64.
    - `tol`: the period tolerance, relative to max(1, |x|); by system: 1e-6 for maps,
      1e-4 for flows.
    - `lyap_tol`: exponents within this of zero count as zero; by system: 5e-3 per
      iteration for maps, 2e-2 per unit time for flows.
    - `bound`: a state with |x| above it counts as divergent; default 1e8.

    Example:

    ```python
    opts = cj.ClassifyOptions(section=cj.LocalMaxima(2), transient=20_000, keep=128,
                              max_period=32)
    c = cj.classify_attractor(cj.systems.Lorenz63(), dt=0.01, options=opts)
    ```
    """

    section: AbstractSection | None = None
    transient: int = eqx.field(default=10_000, static=True, converter=_int_option)
    keep: int = eqx.field(default=256, static=True, converter=_int_option)
    steps: int | None = eqx.field(default=None, static=True, converter=_int_option)
    lyap_steps: int = eqx.field(default=10_000, static=True, converter=_int_option)
    exponents: int | None = eqx.field(default=None, static=True, converter=_int_option)
    max_period: int = eqx.field(default=64, static=True, converter=_int_option)
    tol: float | None = eqx.field(default=None, static=True, converter=_float_option)
    lyap_tol: float | None = eqx.field(default=None, static=True, converter=_float_option)
    bound: float = eqx.field(default=1e8, static=True, converter=_float_option)

    def __check_init__(self):
        v.positive_int(self.keep, "keep")
        v.positive_int(self.max_period, "max_period")
        if 2 * self.max_period > self.keep:
            raise ValueError(
                f"`keep` ({self.keep}) must be at least 2 * max_period ({2 * self.max_period})."
            )
        if self.exponents is not None:
            v.positive_int(self.exponents, "exponents")
        if self.section is not None and not isinstance(self.section, AbstractSection):
            raise ValueError(
                "`section` must be cj.Hyperplane(normal, offset, direction), "
                f"cj.LocalMaxima(i) or cj.LocalMinima(i), got {self.section!r}."
            )
        v.nonnegative_int(self.transient, "transient")
        if self.steps is not None:
            v.positive_int(self.steps, "steps")
        v.positive_int(self.lyap_steps, "lyap_steps")
        for name in ("tol", "lyap_tol"):
            if getattr(self, name) is not None:
                v.positive_float(getattr(self, name), name)
        v.positive_float(self.bound, "bound")


_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(ClassifyOptions))


def _options(options: ClassifyOptions | None, keywords: dict[str, Any]) -> ClassifyOptions:
    """The options of one call: `options`, or the keyword shorthands as a ClassifyOptions."""
    unknown = sorted(set(keywords) - set(_OPTION_NAMES))
    if unknown:
        raise TypeError(
            f"unexpected keyword argument {unknown[0]!r}; the options of the classification "
            f"are the fields of cj.ClassifyOptions: {', '.join(_OPTION_NAMES)}."
        )
    if options is None:
        return ClassifyOptions(**keywords)
    if not isinstance(options, ClassifyOptions):
        raise ValueError(f"`options` must be a cj.ClassifyOptions, got {options!r}.")
    if keywords:
        raise ValueError(
            "Give the options either as `options=cj.ClassifyOptions(...)` or as keywords, "
            f"not both; got `options` and {', '.join(f'`{k}`' for k in keywords)}."
        )
    return options


class _Settings(eqx.Module):
    """`ClassifyOptions` with every default filled in for one system (`_for_system`): what
    the compiled kernel reads. A flow's settings carry its section; a map's have none."""

    section: AbstractSection | None
    transient: int = eqx.field(static=True)
    keep: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    lyap_steps: int = eqx.field(static=True)
    exponents: int = eqx.field(static=True)
    max_period: int = eqx.field(static=True)
    tol: float = eqx.field(static=True)
    lyap_tol: float = eqx.field(static=True)
    bound: float = eqx.field(static=True)


def _for_system(options: ClassifyOptions, system: Flow | Map) -> _Settings:
    """`options` with every default that depends on the system filled in, and checked
    against its dimension (a map's section is dropped: its iterates are the sample)."""
    is_flow = isinstance(system, Flow)
    k = min(system.dim, 2 if is_flow else 1) if options.exponents is None else options.exponents
    if k > system.dim:
        raise ValueError(f"`exponents` must be at most dim = {system.dim}, got {k}.")
    # Maps: cycles repeat to rounding, so 1e-6. Flows: the section points of a limit cycle
    # of the discretised flow scatter by the solver's error (about 1e-3 absolute for RK4
    # at dt = 0.01 on Lorenz63), so 1e-4 relative to |x| ~ 10..100. A finite-time estimate
    # of a zero exponent over 1e4 steps is within about 1e-2 (flows) / 1e-3 (maps).
    return _Settings(
        section=check_section(options.section, system.dim) if is_flow else None,
        transient=options.transient,
        keep=options.keep,
        steps=200 * options.keep if options.steps is None else options.steps,
        lyap_steps=options.lyap_steps,
        exponents=k,
        max_period=options.max_period,
        tol=(1e-4 if is_flow else 1e-6) if options.tol is None else options.tol,
        lyap_tol=(2e-2 if is_flow else 5e-3) if options.lyap_tol is None else options.lyap_tol,
        bound=options.bound,
    )


def _iterates(m: Map, x: Array, keep: int) -> tuple[Array, Array]:
    """(the `keep` iterates after x, (keep, dim); the last one)."""

    def body(y, _):
        y1 = m.step(y)
        return y1, y1

    y, pts = jax.lax.scan(body, x, None, length=keep)
    return pts, y


def _classify(m: Map, x: Array, o: _Settings) -> Classification:
    """The classification of the orbit of `x` under the one-step map `m`."""
    dim = x.shape[-1]
    keep = o.keep
    is_flow = o.section is not None
    y = iterate(m, x, o.transient)
    if o.section is not None:
        c = section_crossings(m, o.section, y, keep, o.steps)
        pts, times, n, y_end = c.points, c.times, c.count, c.final_state
        amplitude = c.high - c.low
    else:
        pts, y_end = _iterates(m, y, keep)
        n = jnp.asarray(keep)
        times = jnp.arange(1.0, keep + 1.0)
        ok = jnp.isfinite(pts)
        amplitude = jnp.max(jnp.where(ok, pts, -jnp.inf), 0) - jnp.min(
            jnp.where(ok, pts, jnp.inf), 0
        )
    period, d, thr = smallest_period(pts, n, o.max_period, o.tol)
    lyap = spectrum_on_map(m, y_end, steps=o.lyap_steps, k=o.exponents)
    exps, y_lyap = lyap.exponents, lyap.final_state
    finite = (
        jnp.all(jnp.isfinite(y_end)) & jnp.all(jnp.isfinite(y_lyap)) & jnp.all(jnp.isfinite(exps))
    )
    big = (jnp.max(jnp.abs(y_end)) > o.bound) | (jnp.max(jnp.abs(y_lyap)) > o.bound)
    divergent = ~finite | big
    scale = jnp.maximum(1.0, jnp.max(jnp.abs(y_end)))
    lyap_tol = o.lyap_tol
    lam1 = exps[0]
    lam2 = exps[1] if o.exponents > 1 else jnp.asarray(-jnp.inf)
    if is_flow:
        still = jnp.max(amplitude) <= o.tol * scale
        # Every attractor of a flow but an equilibrium has a zero exponent (the flow
        # direction): a clearly negative lambda_1 means an equilibrium, even while a
        # damped spiral still crosses the section; a cycle needs lambda_1 ~ 0.
        fixed = still | (lam1 < -lyap_tol)
        periodic = (period >= 1) & ~still & (jnp.abs(lam1) <= lyap_tol)
        t_per = jnp.where(
            period >= 1,
            (jnp.take(times, jnp.minimum(n - 1, keep - 1)) - times[0])
            / jnp.maximum(n - 1, 1).astype(times.dtype)
            * period.astype(times.dtype),
            jnp.nan,
        )
        quasi = (jnp.abs(lam1) <= lyap_tol) & (jnp.abs(lam2) <= lyap_tol) & (dim >= 3)
    else:
        fixed = period == 1
        periodic = period >= 2
        t_per = jnp.where(period >= 1, period.astype(float), jnp.nan)
        quasi = jnp.abs(lam1) <= lyap_tol
    chaotic = lam1 > lyap_tol
    code = jnp.where(
        divergent, _DIV,
        jnp.where(fixed & (lam1 <= lyap_tol), _FP,
                  jnp.where(periodic & (lam1 <= lyap_tol), _PER,
                            jnp.where(fixed | (period >= 1), _UNR,
                                      jnp.where(chaotic, _CH, jnp.where(quasi, _QP, _UNR))))),
    )  # fmt: skip
    return Classification(
        code=code,
        period=jnp.where(code == _PER, period, jnp.where(code == _FP, 1, 0)),
        period_time=jnp.where(code == _PER, t_per, jnp.nan),
        return_distances=d,
        threshold=thr,
        exponents=exps,
        amplitude=amplitude,
        crossings=n,
        final_state=y_end,
    )


def classify_attractor(
    system: Flow | Map,
    x0: Float[ArrayLike, " dim"] | None = None,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    options: ClassifyOptions | None = None,
    **keywords: Any,
) -> Classification:
    """Classify the omega-limit set reached from `x0`: fixed point, periodic orbit (with
    its period), quasi-periodic, chaotic, divergent, or unresolved, with the evidence.

    After `options.transient` steps, `options.keep` points of the omega-limit set are
    sampled (map iterates, or the crossings of `options.section` for a flow), their
    return distances give the period (Parker & Chua 1989, ch. 2), and the leading
    Lyapunov exponents are averaged over `options.lyap_steps` further steps (Benettin et
    al. 1980). The decision, with lambda_1 the largest exponent:

    - divergent: the state became non-finite or left |x| <= `bound`;
    - fixed point: period 1 (maps) or no motion (flows) and lambda_1 <= lyap_tol;
    - periodic: a period p (>= 2 for maps, >= 1 section crossings for flows) and
      lambda_1 <= lyap_tol (zero for a flow's limit cycle, negative for a map's cycle);
    - chaotic: no period and lambda_1 > lyap_tol;
    - quasi-periodic: no period and |lambda_1| <= lyap_tol (flows: lambda_2 too);
    - unresolved otherwise (e.g. a period longer than `max_period`, a transient that has
      not decayed, or a period with a positive exponent): read the evidence.

    **Arguments:**

    - `system`: a `cj.Map`, or a `cj.Flow` (then `dt` is required).
    - `x0`: (dim,) initial state; default `system.default_state()`.
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: the solver of a flow, as in `cj.as_map` (default "rk4").
    - `options`: a `cj.ClassifyOptions`; default `cj.ClassifyOptions()`.
    - `**keywords`: the fields of `cj.ClassifyOptions` (`transient=...`, `keep=...`), a
      shorthand for `options=cj.ClassifyOptions(...)`; not together with `options`.

    **Returns:**

    A `Classification`; `.label` is its name.

    Example:

    ```python
    c = cj.classify_attractor(cj.systems.Logistic(r=3.5), jnp.array([0.5]))
    c.label, int(c.period)   # ('periodic', 4)
    ```
    """
    options = _options(options, keywords)
    m = as_map(system, dt, solver)
    x = initial_states(system, x0)
    return _classify_one(m, x, _for_system(options, system))


def classify_sweep(
    system: Flow | Map,
    param: str,
    values: Float[ArrayLike, "n ..."],
    x0: Float[ArrayLike, "*n dim"] | None = None,
    *,
    dt: float | None = None,
    solver: str = "rk4",
    options: ClassifyOptions | None = None,
    shard: bool = True,
    **keywords: Any,
) -> Classification:
    """`classify_attractor` for every value of `param`, in one compiled `vmap` whose
    parameter axis is sharded over `jax.devices()`.

    **Arguments:**

    - `system`: a `cj.Map`, or a `cj.Flow` (then `dt` is required).
    - `param`: the name of a numeric parameter of `system`.
    - `values`: (n,) values of `param` (or (n, *shape) for a vector parameter).
    - `x0`: (dim,) initial state for every value, or (n, dim) one per value; default
      `system.default_state()`.
    - `dt`: the time per step of a flow (time units); None for a map.
    - `solver`: the solver of a flow, as in `cj.as_map` (default "rk4").
    - `options`: a `cj.ClassifyOptions`; default `cj.ClassifyOptions()`.
    - `shard`: split the parameter axis over `jax.devices()` (default True).
    - `**keywords`: the fields of `cj.ClassifyOptions`, a shorthand for `options`; not
      together with `options`.

    **Returns:**

    A `Classification` batched along a leading axis n; `.labels`, `.counts()`.

    Example:

    ```python
    c = cj.classify_sweep(cj.systems.Logistic(), "r", jnp.linspace(2.5, 4, 301),
                          jnp.array([0.5]))
    c.counts()
    ```
    """
    options = _options(options, keywords)
    dt = checked_dt(system, dt, solver)
    settings = _for_system(options, system)
    vals = check_param(system, param, values)
    x = initial_states(system, x0, vals.shape[0])
    vals, x = shard_sweep(vals, x, shard)
    return _classify_values(system, param, vals, x, dt, solver, settings)


@eqx.filter_jit
def _classify_one(m, x, settings):
    return _classify(m, x, settings)


@eqx.filter_jit
def _classify_values(system, param, vals, x, dt, solver, settings):
    return over_values(lambda m, x0: _classify(m, x0, settings), system, param, vals, x, dt, solver)
