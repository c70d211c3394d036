"""Results as xarray Datasets, written to NetCDF (h5netcdf) or Zarr atomically.

Every dataset chaosjax writes has named dimensions (`member`, `time`, `component`, ...),
units on its coordinates and variables, and attributes that say how it was made:
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
```
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
from ._files import remove_stale_temporaries as remove_stale_temporaries
from ._files import save as save
from ._files import save_figure as save_figure
from ._files import write_json as write_json
from ._files import write_text as write_text
from ._files import zarr_available as zarr_available
from ._provenance import attributes as attributes
from ._provenance import system_name as system_name
from ._provenance import system_parameters as system_parameters
from .bifurcation import OrbitDiagram
from .lyapunov import LyapunovResult, kaplan_yorke_dimension
from .sensitivity import BlowupTable, ShadowingSensitivity
from .systems import Flow, Map

__all__ = [
    "WriteError",
    "atomic_path",
    "attributes",
    "ensemble_dataset",
    "ensure_writable_dir",
    "load",
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


def _time_coord(n_saves: int, transient: int, save_every: int, dt: float | None):
    steps = transient + save_every * np.arange(n_saves)
    unit = "iterations" if dt is None else "time units of the system"
    time = steps.astype(float) if dt is None else steps * float(dt)
    return {
        "time": ("time", time, {"units": unit, "long_name": "time since x0"}),
        "step": ("time", steps, {"units": "steps", "long_name": "steps since x0"}),
    }


def _component_coord(dim: int) -> dict[str, Any]:
    return {"component": ("component", np.arange(dim), {"long_name": "state coordinate index"})}


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
    """A Dataset of one trajectory (time, component) or many (member, time, component).

    The states go into the variable `state` (units "state units"); the coordinates are
    `time` and `step`, counted from the original x0 (the transient included), and
    `component`, plus `member` for many trajectories. The attributes are those of
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
    dims = ("time", "component") if xs.ndim == 2 else ("member", "time", "component")
    coords = {
        **_time_coord(xs.shape[-2], transient, save_every, dt),
        **_component_coord(xs.shape[-1]),
    }
    if xs.ndim == 3:
        coords["member"] = ("member", np.arange(xs.shape[0]), {"long_name": "ensemble member"})
    unit = "state units"
    ds = xr.Dataset(
        {"state": (dims, xs, {"units": unit, "long_name": "system state"})},
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
    observable: str = "state components",
    extra_vars: Mapping[str, Any] | None = None,
    **extra: Any,
) -> xr.Dataset:
    """A Dataset of ensemble statistics of time averages of each state component.

    Variables: `initial_state` (member, component), `time_average` (member, component),
    `mean`, `std` (ddof=1) and `sem` (component); when given, the running averages
    `cumulative_average` (member, averaging_time, component) and every member's states
    `state` (member, time, component) with the `time` and `step` coordinates of
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
    t_unit = "iterations" if dt is None else "time units of the system"
    data: dict[str, Any] = {
        "initial_state": (
            ("member", "component"),
            x0,
            {"units": "state units", "long_name": "initial state (before transient)"},
        ),
        "time_average": (
            ("member", "component"),
            vals,
            {
                "units": "state units",
                "long_name": f"finite-time average over {steps} steps after the transient",
            },
        ),
        "mean": (
            ("component",),
            vals.mean(0),
            {"units": "state units", "long_name": "ensemble mean"},
        ),
        "std": (
            ("component",),
            std,
            {"units": "state units", "long_name": "ensemble standard deviation (ddof=1)"},
        ),
        "sem": (
            ("component",),
            std / np.sqrt(n),
            {"units": "state units", "long_name": "standard error of the mean"},
        ),
    }
    coords: dict[str, Any] = {
        "member": ("member", np.arange(n), {"long_name": "ensemble member"}),
        **_component_coord(vals.shape[-1]),
    }
    if cumulative_averages is not None:
        ca = np.asarray(cumulative_averages)
        data["cumulative_average"] = (
            ("member", "averaging_time", "component"),
            ca,
            {"units": "state units", "long_name": "running time average"},
        )
        coords["averaging_time"] = (
            "averaging_time",
            np.asarray(cumulative_times),
            {"units": t_unit, "long_name": "averaging time T"},
        )
    if states is not None:
        xs = np.asarray(states)
        data["state"] = (
            ("member", "time", "component"),
            xs,
            {"units": "state units", "long_name": "member states"},
        )
        coords.update(_time_coord(xs.shape[1], transient, save_every, dt))
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

    Variables: `exponents` (exponent), per unit time ("1/time") for a flow and per
    iteration ("1/iteration") for a map; `history` (history_time, exponent), the running
    estimates; `kaplan_yorke_dimension` (scalar), from `cj.kaplan_yorke_dimension`
    (Kaplan & Yorke 1979, Lecture Notes in Math. 730, 204). The coordinate
    `history_time` is `result.history_steps` times `dt` (in iterations for a map),
    counted after the transient. The attributes are those of `attributes` with `steps`,
    `transient`, `backend` (`result.backend`: "native" or "xla", what computed it) and
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
    t_unit = "time units of the system" if flow else "iterations"
    l_unit = "1/time" if flow else "1/iteration"
    history_time = np.asarray(result.history_steps) * (dt or 1.0)
    data: dict[str, Any] = {
        "exponents": (("exponent",), lam, {"units": l_unit}),
        "history": (
            ("history_time", "exponent"),
            np.asarray(result.history),
            {"units": l_unit, "long_name": "running estimates"},
        ),
        # NaN for a diverged run (throw=False), whose exponents are not finite.
        "kaplan_yorke_dimension": (
            (),
            float(kaplan_yorke_dimension(lam)) if np.isfinite(lam).all() else np.nan,
            {},
        ),
    }
    return xr.Dataset(
        data,
        coords={"history_time": ("history_time", history_time, {"units": t_unit})},
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
        data["shadowing_estimates"] = (
            ("window",),
            np.asarray(shadowing.estimates),
            {"long_name": "one estimate per window"},
        )
        if shadowing.parts is not None:
            data["s3_parts"] = (
                ("part",),
                np.asarray(shadowing.parts),
                {"long_name": "shadowing-like, flow-direction and unstable contributions"},
            )
    if blowup is not None:
        unit = "time units" if isinstance(system, Flow) else "iterations"
        coords["horizon"] = ("horizon", np.asarray(blowup.horizons), {"units": unit})
        data["gradient"] = (
            ("horizon", "member"),
            np.asarray(blowup.gradients),
            {"long_name": "finite-time gradient per initial condition"},
        )
        data["average"] = (
            ("horizon", "member"),
            np.asarray(blowup.averages),
            {"units": "state units", "long_name": "finite-time average"},
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

    Variables: `points` (value, point, component), the kept iterates of a map or the
    section crossings of a flow (NaN beyond `counts`); `counts` (value), the points
    found; `diverged` (value, int8), 1 where the run became non-finite. The coordinate
    `value` holds the parameter values. The attributes are those of `attributes` with
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
    data: dict[str, Any] = {
        "points": (
            ("value", "point", "component"),
            np.asarray(diagram.points),
            {"units": "state units", "long_name": points_long_name},
        ),
        "counts": (("value",), np.asarray(diagram.counts), {"long_name": "points found"}),
        "diverged": (("value",), np.asarray(diagram.diverged).astype("int8"), {}),
    }
    return xr.Dataset(
        data,
        coords={"value": ("value", values, {"long_name": f"parameter {diagram.param}"})},
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
