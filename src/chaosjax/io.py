"""Results as xarray Datasets, written to NetCDF (h5netcdf) or Zarr atomically.

Every dataset chaosjax writes has named dimensions (`member`, `time`, `variable`, ...)
with a coordinate on each (`variable` holds the system's variable names, e.g. "x", "y",
"z"; an orbit diagram's swept dimension is named after its parameter, e.g. `rho`),
CF-style `units` ("1" for dimensionless) and `long_name` attributes, and attributes
that say how it was made:
`system`, `kind`, `parameters` (JSON), one `parameter_<name>` per scalar parameter,
`dt`, `solver`, `seed`, `chaosjax_version` and `created`.

Writes are atomic: the file is written to a temporary name in the target's own
directory, flushed to disk, then renamed over the target with `os.replace`. An
interrupted or killed writer therefore leaves either the previous file or the
complete new one, never a truncated file.

```python
lor = cj.systems.Lorenz63()
xs = cj.trajectory(lor, lor.default_state(), steps=1_000, dt=0.005)
ds = cj.io.trajectory_dataset(lor, xs, dt=0.005, solver="rk4", seed=0)
cj.io.save(ds, "run.nc")           # or "run.zarr" when zarr is installed
ds = cj.io.load("run.nc")
ds["state"].sel(variable="z")      # coordinates by the system's variable names
cj.io.load_system("run.nc")        # Lorenz63 with the file's parameters
```

A report's results.nc holds one group per section: `cj.io.load_tree(path)` reads
them all, `cj.io.load(path, group="lyapunov")` one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ._files import WriteError as WriteError
from ._files import atomic_path as atomic_path
from ._files import ensure_writable_dir as ensure_writable_dir
from ._files import load as load
from ._files import load_tree as load_tree
from ._files import remove_stale_temporaries as remove_stale_temporaries
from ._files import save as save
from ._files import save_figure as save_figure
from ._files import write_json as write_json
from ._files import write_text as write_text
from ._files import zarr_available as zarr_available
from ._provenance import attributes as attributes
from ._provenance import load_system as load_system
from ._provenance import system_name as system_name
from ._provenance import system_parameters as system_parameters
from .bifurcation import OrbitDiagram
from .lyapunov import LyapunovResult, kaplan_yorke_dimension
from .sensitivity import BlowupTable, ShadowingSensitivity
from .systems import Flow, Map
from .systems._base import class_metadata

__all__ = [
    "WriteError",
    "rate_units",
    "time_units",
    "atomic_path",
    "attributes",
    "ensemble_dataset",
    "ensure_writable_dir",
    "load",
    "load_system",
    "load_tree",
    "lyapunov_dataset",
    "orbit_diagram_dataset",
    "remove_stale_temporaries",
    "save",
    "save_figure",
    "sensitivity_dataset",
    "system_parameters",
    "trajectory_dataset",
    "write_json",
    "write_text",
    "zarr_available",
]


def time_units(system: Flow | Map) -> str:
    """The CF `units` of time for `system`: its `time_units` for a flow ("1",
    dimensionless, when it has none), "1" for a map (time counts iterations)."""
    if isinstance(system, Flow):
        return class_metadata(type(system), "time_units", None) or "1"
    return "1"


def rate_units(system: Flow | Map) -> str:
    """The CF `units` of a rate (a Lyapunov exponent): per unit time of a flow ("1" for
    a nondimensional time, e.g. "s-1" for seconds), "1" (per iteration) for a map."""
    unit = time_units(system)
    return "1" if unit == "1" else f"{unit}-1"


def _time_coord(
    system: Flow | Map, n_saves: int, transient: int, save_every: int, dt: float | None
):
    steps = transient + save_every * np.arange(n_saves)
    time = steps.astype(float) if dt is None else steps * float(dt)
    what = "iterations since x0" if dt is None else "time since x0"
    return {
        "time": ("time", time, {"units": time_units(system), "long_name": what}),
        "step": ("time", steps, {"units": "1", "long_name": "steps since x0"}),
    }


def _variable_names(system: Flow | Map, n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names and CF units of `n` state variables of `system` (generic u1, ..., un
    when `n` is not the system's dimension, e.g. a model's observed coordinates)."""
    try:
        names, units = system.variable_names(), system.variable_units()
    except Exception:  # noqa: BLE001 - a user's system whose dimension cannot be computed
        names, units = (), ()
    if len(names) != n:
        return tuple(f"u{i + 1}" for i in range(n)), ("1",) * n
    return tuple(names), tuple(u or "1" for u in units)


def _variable_coord(system: Flow | Map, n: int) -> dict[str, Any]:
    names, units = _variable_names(system, n)
    return {
        "variable": ("variable", np.asarray(names, dtype=str), {"long_name": "state variable"}),
        "variable_units": (
            "variable",
            np.asarray(units, dtype=str),
            {"long_name": "units of each state variable"},
        ),
    }


def _state_attrs(system: Flow | Map, n: int, long_name: str) -> dict[str, Any]:
    """`long_name` and `units` of a variable along `variable`: the common unit of the
    state variables, or no `units` (see the `variable_units` coordinate) when they differ."""
    units = set(_variable_names(system, n)[1])
    out: dict[str, Any] = {"long_name": long_name}
    if len(units) == 1:
        out["units"] = units.pop()
    return out


def _index(name: str, n: int, long_name: str, start: int = 0) -> dict[str, Any]:
    return {name: (name, np.arange(start, start + n), {"long_name": long_name, "units": "1"})}


def trajectory_dataset(
    system: Flow | Map,
    states: Any,
    *,
    dt: float | None,
    solver: str | None = None,
    seed: int | None = None,
    transient: int = 0,
    save_every: int = 1,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of one trajectory (time, variable) or many (member, time, variable).

    The states go into the variable `state`; the coordinates are `time` and `step`,
    counted from the original x0 (the transient included), `variable` (the system's
    variable names, e.g. "x", "y", "z") with `variable_units`, and `member` for many
    trajectories. Units follow the CF conventions: "1" for a dimensionless quantity,
    the system's `time_units` for a flow's time. The attributes are those of
    `attributes` with `transient`, `save_every` and `content="trajectory"`.

    **Arguments:**

    - `system`: the simulated `cj.Flow` or `cj.Map`.
    - `states`: what `cj.trajectory` returned with the same `transient` and
      `save_every`, shape (time, dim) or (member, time, dim).
    - `dt`: the time step of a flow; None for a map (time then counts iterations).
    - `solver`, `seed`: provenance attributes (the solver only for flows).
    - `transient`, `save_every`: as passed to `cj.trajectory`.
    - `**extra`: further attributes (None values are left out).

    **Returns:**

    An `xarray.Dataset`. Raises `ValueError` when `states` is not 2- or 3-dimensional.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    xs = cj.trajectory(lor, lor.default_state(), steps=200, dt=0.01, save_every=2)
    ds = cj.io.trajectory_dataset(lor, xs, dt=0.01, solver="rk4", save_every=2)
    ```
    """
    xs = np.asarray(states)
    if xs.ndim not in (2, 3):
        raise ValueError(f"`states` must be (time, dim) or (member, time, dim), got {xs.shape}.")
    dims = ("time", "variable") if xs.ndim == 2 else ("member", "time", "variable")
    coords = {
        **_time_coord(system, xs.shape[-2], transient, save_every, dt),
        **_variable_coord(system, xs.shape[-1]),
    }
    if xs.ndim == 3:
        coords.update(_index("member", xs.shape[0], "ensemble member"))
    ds = xr.Dataset(
        {"state": (dims, xs, _state_attrs(system, xs.shape[-1], "system state"))},
        coords=coords,
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            seed=seed,
            transient=transient,
            save_every=save_every,
            content="trajectory",
            **extra,
        ),
    )
    return ds


def ensemble_dataset(
    system: Flow | Map,
    *,
    initial_states: Any,
    time_averages: Any,
    cumulative_times: Any = None,
    cumulative_averages: Any = None,
    states: Any = None,
    save_every: int = 1,
    dt: float | None,
    solver: str | None = None,
    seed: int | None = None,
    transient: int = 0,
    steps: int = 0,
    observable: str = "state variables",
    extra_vars: Mapping[str, Any] | None = None,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of ensemble statistics of time averages of each state variable.

    Variables: `initial_state` (member, variable), `time_average` (member, variable),
    `mean`, `std` (ddof=1) and `sem` (variable); when given, the running averages
    `cumulative_average` (member, averaging_time, variable) and every member's states
    `state` (member, time, variable) with the `time` and `step` coordinates of
    `trajectory_dataset`. The attributes are those of `attributes` with `transient`,
    `steps`, `members`, `observable` and `content="ensemble"`.

    **Arguments:**

    - `system`: the simulated `cj.Flow` or `cj.Map`.
    - `initial_states`: shape (member, dim), the states before the transient.
    - `time_averages`: shape (member, dim), each member's time average.
    - `cumulative_times`, `cumulative_averages`: shapes (averaging_time,) and (member,
      averaging_time, dim), e.g. `times` and `averages` of `cj.cumulative_average`.
    - `states`: shape (member, time, dim), what `cj.trajectory` returned for every
      member with the same `transient` and `save_every`.
    - `dt`: the time step of a flow; None for a map.
    - `solver`, `seed`, `transient`, `steps`, `observable`: provenance attributes.
    - `extra_vars`: further variables, name -> (dims, values, attrs).
    - `**extra`: further attributes (None values are left out).

    **Returns:**

    An `xarray.Dataset`.

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    x0s = lor.sample_state(jax.random.key(0), 8)
    avgs = cj.time_average(lor, x0s, steps=10_000, dt=0.01, transient=1_000)
    ds = cj.io.ensemble_dataset(lor, initial_states=x0s, time_averages=avgs, dt=0.01,
                                steps=10_000, transient=1_000)
    ```
    """
    x0 = np.asarray(initial_states)
    vals = np.asarray(time_averages)
    n = vals.shape[0]
    std = vals.std(0, ddof=1) if n > 1 else np.zeros(vals.shape[1:])
    n_var = vals.shape[-1]

    def attrs(long_name: str) -> dict[str, Any]:
        return _state_attrs(system, n_var, long_name)

    data: dict[str, Any] = {
        "initial_state": (
            ("member", "variable"),
            x0,
            attrs("initial state (before transient)"),
        ),
        "time_average": (
            ("member", "variable"),
            vals,
            attrs(f"finite-time average over {steps} steps after the transient"),
        ),
        "mean": (
            ("variable",),
            vals.mean(0),
            attrs("ensemble mean"),
        ),
        "std": (
            ("variable",),
            std,
            attrs("ensemble standard deviation (ddof=1)"),
        ),
        "sem": (
            ("variable",),
            std / np.sqrt(n),
            attrs("standard error of the mean"),
        ),
    }
    coords: dict[str, Any] = {
        **_index("member", n, "ensemble member"),
        **_variable_coord(system, n_var),
    }
    if cumulative_averages is not None:
        ca = np.asarray(cumulative_averages)
        data["cumulative_average"] = (
            ("member", "averaging_time", "variable"),
            ca,
            attrs("running time average"),
        )
        coords["averaging_time"] = (
            "averaging_time",
            np.asarray(cumulative_times),
            {"units": time_units(system), "long_name": "averaging time T"},
        )
    if states is not None:
        xs = np.asarray(states)
        data["state"] = (
            ("member", "time", "variable"),
            xs,
            attrs("member states"),
        )
        coords.update(_time_coord(system, xs.shape[1], transient, save_every, dt))
    for name, value in (extra_vars or {}).items():
        data[name] = value
    return xr.Dataset(
        data,
        coords=coords,
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            seed=seed,
            transient=transient,
            steps=steps,
            members=n,
            observable=observable,
            content="ensemble",
            **extra,
        ),
    )


def lyapunov_dataset(
    system: Flow | Map,
    result: LyapunovResult,
    *,
    dt: float | None,
    solver: str | None = None,
    steps: int | None = None,
    transient: int | None = None,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of a Lyapunov spectrum, its convergence and its Kaplan-Yorke dimension.

    Variables: `exponents` (exponent), per unit time for a flow (CF units "1" for a
    nondimensional time, e.g. "s-1" for a `time_units` of "s") and per iteration ("1")
    for a map; `history` (history_time, exponent), the running estimates;
    `kaplan_yorke_dimension` (scalar), from `cj.kaplan_yorke_dimension`
    (Kaplan & Yorke 1979, Lecture Notes in Math. 730, 204). The coordinate
    `history_time` is `result.history_steps` times `dt` (in iterations for a map),
    counted after the transient; `exponent` numbers the exponents 1, 2, ....
    The attributes are those of `attributes` with `steps`, `transient`, `backend`
    (`result.backend`: "native" or "xla", what computed it) and
    `content="lyapunov spectrum"`.

    **Arguments:**

    - `system`: the `cj.Flow` or `cj.Map` whose spectrum `result` is.
    - `result`: what `cj.lyapunov_spectrum` returned.
    - `dt`: the time step of a flow; None for a map.
    - `solver`, `steps`, `transient`: as passed to `cj.lyapunov_spectrum` (provenance).
    - `**extra`: further attributes (None values are left out).

    **Returns:**

    An `xarray.Dataset`.

    Example:

    ```python
    hen = cj.systems.Henon()
    res = cj.lyapunov_spectrum(hen, hen.default_state(), steps=10_000)
    ds = cj.io.lyapunov_dataset(hen, res, dt=None, steps=10_000)
    ```
    """
    flow = isinstance(system, Flow)
    lam = np.asarray(result.exponents)
    l_unit = rate_units(system)
    per = "per unit time" if flow else "per iteration"
    history_time = np.asarray(result.history_steps) * (dt or 1.0)
    data: dict[str, Any] = {
        "exponents": (
            ("exponent",),
            lam,
            {"units": l_unit, "long_name": f"Lyapunov exponents ({per})"},
        ),
        "history": (
            ("history_time", "exponent"),
            np.asarray(result.history),
            {"units": l_unit, "long_name": f"running estimates ({per})"},
        ),
        # NaN for a diverged run (throw=False), whose exponents are not finite.
        "kaplan_yorke_dimension": (
            (),
            float(kaplan_yorke_dimension(lam)) if np.isfinite(lam).all() else np.nan,
            {"units": "1", "long_name": "Kaplan-Yorke dimension"},
        ),
    }
    t_what = "time after the transient" if flow else "iterations after the transient"
    return xr.Dataset(
        data,
        coords={
            "history_time": (
                "history_time",
                history_time,
                {"units": time_units(system), "long_name": t_what},
            ),
            **_index("exponent", lam.shape[0], "index i of lambda_i (largest first)", 1),
        },
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            steps=steps,
            transient=transient,
            content="lyapunov spectrum",
            **{"backend": result.backend, **extra},
        ),
    )


def sensitivity_dataset(
    system: Flow | Map,
    *,
    parameter: str,
    observable: str,
    shadowing: ShadowingSensitivity | None = None,
    blowup: BlowupTable | None = None,
    dt: float | None,
    solver: str | None = None,
    seed: int | None = None,
    method: str | None = None,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of the sensitivity `d<S>/dp` of a time average to a parameter.

    From a shadowing result (least-squares shadowing, Wang 2014, SIAM J. Numer. Anal.
    52, 156-170; non-intrusive LSS, Ni & Wang 2017, J. Comput. Phys. 347, 56-77; or
    space-split sensitivity, Chandramoorthy & Wang 2022, SIAM J. Appl. Dyn. Syst. 21):
    `shadowing_derivative` and `shadowing_error` (scalars), `shadowing_estimates`
    (window), and for S3 `s3_parts` (part). From a blow-up table of finite-time
    gradients: `gradient` and `average` (horizon, member), their `mean`, `std` and
    `median` over members (horizon), and the coordinate `horizon` (time units for a
    flow, iterations for a map). The attributes are those of `attributes` with
    `parameter`, `observable`, `method` and `content="sensitivity"`.

    **Arguments:**

    - `system`: the `cj.Flow` or `cj.Map` differentiated.
    - `parameter`: the parameter's name, p.
    - `observable`: a description of S, e.g. "x[2]".
    - `shadowing`: what `cj.shadowing_sensitivity` returned, or None.
    - `blowup`: what `cj.sensitivity_blowup_table` returned, or None.
    - `dt`: the time step of a flow; None for a map.
    - `solver`, `seed`, `method`: provenance attributes.
    - `**extra`: further attributes (None values are left out).

    **Returns:**

    An `xarray.Dataset` (without variables when neither result is given).

    Example:

    ```python
    lor = cj.systems.Lorenz63()
    tab = cj.sensitivity_blowup_table(lor, "rho", lambda x: x[2], horizons=(1.0, 10.0),
                                      n_initial=8, dt=0.01)
    ds = cj.io.sensitivity_dataset(lor, parameter="rho", observable="x[2]",
                                   blowup=tab, dt=0.01, method="autodiff")
    ```
    """
    data: dict[str, Any] = {}
    coords: dict[str, Any] = {}
    if shadowing is not None:
        data["shadowing_derivative"] = (
            (),
            float(np.asarray(shadowing.derivative)),
            {"long_name": "d<S>/dp by shadowing"},
        )
        data["shadowing_error"] = (
            (),
            float(np.asarray(shadowing.standard_error)),
            {"long_name": "standard error over windows"},
        )
        estimates = np.asarray(shadowing.estimates)
        data["shadowing_estimates"] = (
            ("window",),
            estimates,
            {"long_name": "one estimate per window"},
        )
        coords.update(_index("window", estimates.shape[0], "averaging window"))
        if shadowing.parts is not None:
            parts = np.asarray(shadowing.parts)
            data["s3_parts"] = (
                ("part",),
                parts,
                {"long_name": "shadowing-like, flow-direction and unstable contributions"},
            )
            names = ["shadowing-like", "flow direction", "unstable"]
            if len(names) != parts.shape[0]:
                names = [str(i) for i in range(parts.shape[0])]
            coords["part"] = ("part", np.asarray(names, dtype=str), {"long_name": "contribution"})
    if blowup is not None:
        what = "averaging horizon T" + ("" if isinstance(system, Flow) else " (iterations)")
        coords["horizon"] = (
            "horizon",
            np.asarray(blowup.horizons),
            {"units": time_units(system), "long_name": what},
        )
        n_members = np.asarray(blowup.gradients).shape[1]
        coords.update(_index("member", n_members, "initial condition"))
        data["gradient"] = (
            ("horizon", "member"),
            np.asarray(blowup.gradients),
            {"long_name": "finite-time gradient per initial condition"},
        )
        data["average"] = (
            ("horizon", "member"),
            np.asarray(blowup.averages),
            {"long_name": "finite-time average"},
        )
        for stat, values in (
            ("mean", blowup.mean),
            ("std", blowup.std),
            ("median", blowup.median),
        ):
            data[stat] = (
                ("horizon",),
                np.asarray(values),
                {"long_name": f"{stat} of the gradients over initial conditions"},
            )
    return xr.Dataset(
        data,
        coords=coords,
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            seed=seed,
            parameter=parameter,
            observable=observable,
            method=method,
            content="sensitivity",
            **extra,
        ),
    )


def orbit_diagram_dataset(
    system: Flow | Map,
    diagram: OrbitDiagram,
    *,
    dt: float | None,
    solver: str | None = None,
    transient: int | None = None,
    keep: int | None = None,
    points_long_name: str | None = None,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of an orbit (bifurcation) diagram over one scalar parameter.

    Variables: `points` (p, point, variable), the kept iterates of a map or the
    section crossings of a flow (NaN beyond `counts`); `counts` (p), the points
    found; `diverged` (p, int8), 1 where the run became non-finite. The dimension and
    coordinate p is named after the swept parameter (e.g. `r`, `rho`) and holds its
    values; `point` numbers the kept points and `variable` names the state variables.
    The attributes are those of `attributes` with
    `parameter` (the name), `transient`, `keep` and `content="orbit diagram"`.

    **Arguments:**

    - `system`: the `cj.Flow` or `cj.Map` of the diagram.
    - `diagram`: what `cj.orbit_diagram` returned, for a scalar parameter.
    - `dt`: the time step of a flow; None for a map.
    - `solver`, `transient`, `keep`: as passed to `cj.orbit_diagram` (provenance).
    - `points_long_name`: what the points are; default "iterates" for a map and
      "section maxima" for a flow (the crossings of `cj.orbit_diagram`'s default
      section, `cj.LocalMaxima`).
    - `**extra`: further attributes (None values are left out).

    **Returns:**

    An `xarray.Dataset`. Raises `ValueError` when the parameter is not a scalar.

    Example:

    ```python
    d = cj.orbit_diagram(cj.systems.Logistic(), "r", jnp.linspace(2.8, 4, 100),
                         transient=1000, keep=200)
    ds = cj.io.orbit_diagram_dataset(cj.systems.Logistic(), d, dt=None,
                                     transient=1000, keep=200)
    ```
    """
    values = np.asarray(diagram.values)
    if values.ndim != 1:
        raise ValueError(
            f"`diagram` must be over a scalar parameter (values of shape (n,)), got values "
            f"of shape {values.shape}."
        )
    if points_long_name is None:
        points_long_name = "section maxima" if isinstance(system, Flow) else "iterates"
    points = np.asarray(diagram.points)
    # The swept parameter names its dimension ("r", "rho"), unless that name is taken.
    taken = {"point", "variable", "variable_units", "points", "counts", "diverged"}
    p = diagram.param if diagram.param not in taken else f"parameter_{diagram.param}"
    data: dict[str, Any] = {
        "points": (
            (p, "point", "variable"),
            points,
            _state_attrs(system, points.shape[-1], points_long_name),
        ),
        "counts": ((p,), np.asarray(diagram.counts), {"units": "1", "long_name": "points found"}),
        "diverged": (
            (p,),
            np.asarray(diagram.diverged).astype("int8"),
            {"long_name": "1 where the run became non-finite"},
        ),
    }
    return xr.Dataset(
        data,
        coords={
            p: (p, values, {"units": "1", "long_name": f"parameter {diagram.param}"}),
            **_index("point", points.shape[1], "kept point"),
            **_variable_coord(system, points.shape[-1]),
        },
        attrs=attributes(
            system,
            dt=dt,
            solver=solver,
            parameter=diagram.param,
            transient=transient,
            keep=keep,
            content="orbit diagram",
            **extra,
        ),
    )
