"""The system a report studies and what the report picks for it: the system from a
catalogue name or a user's file, its main parameter and observed coordinate, the
default of every option (`resolve`), and initial states near its attractor."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj

from .. import io as cjio
from .. import systems
from .._validate import unknown_name
from ..systems import Flow, Map
from ..systems._base import check_parameter_name
from .config import SECTIONS, ReportConfig, ReportError, parse_range

#: The parameter a report sweeps and differentiates by default ("main parameter").
MAIN_PARAMETER = {
    "lorenz63": "rho", "rossler": "c", "lorenz96": "F", "chen": "c", "chua": "alpha",
    "thomas": "b", "halvorsen": "a", "sprott_b": "a", "duffing": "gamma",
    "forced_duffing": "gamma",
    "logistic": "r", "tent": "mu", "henon": "a", "lozi": "a", "tinkerbell": "a",
    "delayed_logistic": "a", "burgers": "a", "ikeda": "u", "delayed_henon": "a",
    "smoothed_sigmoid": "a", "standard_map": "K",
}  # fmt: skip

#: Default sweeps of the orbit diagram: (start, stop) of the main parameter.
MAIN_RANGE = {
    "logistic": (2.5, 4.0), "henon": (1.0, 1.4), "tent": (1.0, 2.0), "lozi": (1.0, 1.8),
    "delayed_logistic": (1.9, 2.27), "ikeda": (0.5, 0.9), "standard_map": (0.5, 2.0),
    "lorenz63": (25.0, 250.0), "rossler": (2.5, 6.5), "forced_duffing": (0.2, 0.65),
}  # fmt: skip


def load_system_class(spec: str) -> type:
    """The class named by 'path/to/file.py:ClassName', which must subclass `cj.Flow` or
    `cj.Map`; `ReportError` (with the systems the file defines) otherwise."""
    if ":" not in spec:
        raise ReportError(f"--system-file must have the form path.py:ClassName, got {spec!r}.")
    path_text, _, cls_name = spec.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise ReportError(f"--system-file: no such file {path_text!r}.")
    resolved = path.resolve()
    try:
        digest = hashlib.sha256(resolved.read_bytes()).hexdigest()
    except OSError as e:
        raise ReportError(f"--system-file: cannot read {path_text!r}: {e.strerror or e}.") from None
    # A name that is the same in every process (hash() of a str is salted).
    mod_name = f"_chaosjax_user_{hashlib.sha256(str(resolved).encode()).hexdigest()[:16]}"
    try:
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ReportError(f"--system-file: cannot import {path_text!r} as Python.")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        module_spec.loader.exec_module(module)
    except ReportError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's file: report, don't trace
        raise ReportError(
            f"--system-file: importing {path_text!r} failed: {type(e).__name__}: {e}"
        ) from e
    classes = [
        n
        for n, v in vars(module).items()
        if isinstance(v, type) and issubclass(v, (Flow, Map)) and v not in (Flow, Map)
    ]
    cls = getattr(module, cls_name, None)
    if cls is None:
        close = difflib.get_close_matches(cls_name, classes, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        known = f" Systems in the file: {', '.join(classes)}." if classes else ""
        raise ReportError(f"--system-file: {path_text!r} has no class {cls_name!r}.{hint}{known}")
    if not (isinstance(cls, type) and issubclass(cls, (Flow, Map))):
        raise ReportError(f"--system-file: {cls_name!r} is not a cj.Flow or cj.Map subclass.")
    # Provenance: every file written about this system names the file and its content.
    type.__setattr__(cls, "__chaosjax_source__", {"file": str(resolved), "sha256": digest})
    return cls


def resolve_system(
    name: str | None, parameters: dict[str, Any] | None = None, system_file: str | None = None
):
    """A system from a catalogue name or a user's file, with parameter overrides.

    **Arguments:**

    - `name`: a catalogue name (`chaosjax systems` lists them); ignored when
      `system_file` is given.
    - `parameters`: overrides, name -> value.
    - `system_file`: 'path/to/file.py:ClassName' of a user's `cj.Flow` or `cj.Map`.

    **Returns:**

    The system. Raises `ReportError` or `ValueError` with a message for the user
    (unknown names list close matches).

    Example:

    ```python
    from chaosjax.report import resolve_system
    lor = resolve_system("lorenz63", {"rho": 30.0})
    ```
    """
    parameters = dict(parameters or {})
    if system_file:
        cls = load_system_class(system_file)
        for key in parameters:
            check_parameter_name(cls, key)
        try:
            system = cls(**parameters)
        except Exception as e:  # noqa: BLE001
            raise ReportError(f"--system-file: {cls.__name__}(...) failed: {e}") from e
    else:
        if not name:
            raise ReportError("Give a SYSTEM name (see `chaosjax systems`) or --system-file.")
        system = systems.get(name, **parameters)
    try:
        x0 = system.default_state()
    except Exception as e:  # noqa: BLE001
        raise ReportError(f"{type(system).__name__}.default_state() failed: {e}") from e
    if np.asarray(x0).ndim != 1:
        raise ReportError(f"{type(system).__name__}.default_state() must return shape (dim,).")
    if system_file and not isinstance(system, systems.DrivenMap):
        _check_user_field(system, np.asarray(x0))
    return system


def _check_user_field(system, x0) -> None:
    """A user's field or step maps a state (dim,) to (dim,): traced once, as JAX would."""
    cls = type(system).__name__
    what = "vector_field" if isinstance(system, Flow) else "step"
    dtype = x0.dtype if np.issubdtype(x0.dtype, np.floating) else jnp.result_type(float)
    spec = jax.ShapeDtypeStruct(x0.shape, dtype)
    try:
        out = jax.eval_shape(getattr(system, what), spec)
    except Exception as e:  # noqa: BLE001 - the user's code, named in one line
        raise ReportError(
            f"--system-file: {cls}.{what} failed on a state of shape {x0.shape}: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    shape = getattr(out, "shape", None)
    if shape != x0.shape:
        raise ReportError(
            f"--system-file: {cls}.{what} must return the shape of the state {x0.shape}, "
            f"got {shape if shape is not None else type(out).__name__}."
        )


def main_parameter(system) -> str | None:
    """The parameter a report varies by default (e.g. rho of Lorenz63, r of the logistic
    map): a known choice for catalogue systems, else the first scalar parameter; None
    when the system has no scalar parameter."""
    names = [k for k, v in system.parameters().items() if np.asarray(v).ndim == 0]
    preferred = MAIN_PARAMETER.get(cjio.system_name(system))
    if preferred in names:
        return preferred
    return names[0] if names else None


def observed_coordinate(system) -> int:
    """The coordinate a report observes: the last bounded one for a flow (z of Lorenz63),
    the first for a map; coordinates that grow by design (phases) are avoided."""
    unbounded = set(system.unbounded_coordinates)
    bounded = [i for i in range(system.dim) if i not in unbounded] or list(range(system.dim))
    return bounded[-1] if isinstance(system, Flow) else bounded[0]


def resolve(config: ReportConfig) -> tuple[dict[str, Any], Any]:
    """Every default of a report filled in for the chosen system.

    Flows and maps have their own step counts (`quick` divides them by ten); the
    sensitivity and the orbit diagram vary the main parameter over a known range, or
    +-20 % around its value.

    **Arguments:**

    - `config`: the options given; `None` fields take their defaults.

    **Returns:**

    `(resolved, system)`: the configuration as a dict with every default filled in
    (what the report records in results.json and config.toml), and the system.
    Raises `ReportError` for options that do not fit the system.
    """
    system = resolve_system(config.system, config.parameters, config.system_file)
    if systems.is_time_dependent(system):
        raise ReportError(
            f"{cjio.system_name(system)} depends on time (vector_field(t, x)); the report "
            "needs a map or an autonomous flow: report on its phase form (e.g. duffing for "
            "forced_duffing), or study it in Python with cj.StroboscopicMap(flow)."
        )
    flow = isinstance(system, Flow)
    if not flow and config.dt is not None:
        raise ReportError(f"`dt` applies to flows only; {cjio.system_name(system)} is a map.")
    q = 10 if config.quick else 1
    if flow:
        d = dict(
            dt=0.005,
            transient=20_000,
            trajectory_steps=20_000,
            save_every=4,
            average_steps=20_000,
            lyapunov_steps=200_000,
            lyapunov_transient=2_000,
            horizons=[0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0],
            shadowing_steps=80_000,
            shadowing_segments=8,
            bifurcation_transient=20_000,
            bifurcation_keep=100,
        )
    else:
        d = dict(
            dt=None,
            transient=1_000,
            trajectory_steps=5_000,
            save_every=1,
            average_steps=50_000,
            lyapunov_steps=200_000,
            lyapunov_transient=1_000,
            horizons=[5.0, 10.0, 20.0, 50.0, 100.0, 200.0],
            shadowing_steps=16_000,
            shadowing_segments=8,
            bifurcation_transient=1_000,
            bifurcation_keep=200,
        )
    out = config.to_dict()
    for key, value in d.items():
        if out.get(key) is None:
            out[key] = (
                value
                if not isinstance(value, int) or key in ("save_every", "shadowing_segments")
                else max(10, value // q)
            )
    if out["linear_response_steps"] is None:
        # S3 needs long orbits (each window 20 Lyapunov times of burn-in and six
        # correlation lengths): a quarter of the full length in a quick run.
        full = 1_000_000 if flow else 160_000
        out["linear_response_steps"] = full // 4 if config.quick else full
    out["members"] = out["members"] or (16 if config.quick else 64)
    out["sensitivity_members"] = out["sensitivity_members"] or (8 if config.quick else 32)
    out["observables"] = min(out["observables"] or 3, system.dim)
    if out["trajectory_steps"] % out["save_every"]:
        raise ReportError(
            f"`trajectory_steps` ({out['trajectory_steps']}) must be a multiple of "
            f"`save_every` ({out['save_every']})."
        )
    names = list(system.parameters())
    main = main_parameter(system)
    for key in ("sensitivity_parameter", "bifurcation_parameter"):
        if out[key] is None:
            out[key] = main  # None when the system has no scalar parameter: section skipped
        elif out[key] not in names:
            raise unknown_name(out[key], names, f"{key} of {type(system).__name__}:")
    if out["sensitivity_observable"] is None:
        out["sensitivity_observable"] = observed_coordinate(system)
    if not 0 <= out["sensitivity_observable"] < system.dim:
        raise ReportError(
            f"`sensitivity_observable` must be a component index below "
            f"{system.dim}, got {out['sensitivity_observable']}."
        )
    p = out["bifurcation_parameter"]
    if out["bifurcation_range"] is None and p is not None:
        lo, hi = MAIN_RANGE.get(cjio.system_name(system), (None, None))
        if lo is None or p != main:
            v = float(np.asarray(system.parameters()[p]))
            lo, hi = (0.8 * v, 1.2 * v) if v else (-1.0, 1.0)
            lo, hi = min(lo, hi), max(lo, hi)
        num = 400 if system.dim <= 4 else 100  # each value is a full run: cost grows with dim
        out["bifurcation_range"] = f"{lo:g}:{hi:g}:{num // 4 if config.quick else num}"
    if out["bifurcation_range"] is not None:
        parse_range(out["bifurcation_range"], "`bifurcation_range` (--bifurcation-range)")
    # The learned-model section runs when a model is given (or when asked for by name).
    default = [k for k in SECTIONS if k != "model" or out.get("model")]
    out["sections"] = list(out["sections"] or default)
    out["parameters"] = cjio.system_parameters(system)
    out["system"] = cjio.system_name(system)
    source = getattr(type(system), "__chaosjax_source__", None)
    if out["system_file"] and isinstance(source, dict):
        # The absolute path: config.toml reruns from any directory.
        out["system_file"] = f"{source['file']}:{type(system).__name__}"
    return out, system


def ensemble_states(system, n: int, seed: int, *, dt: float | None = None, solver: str = "rk4"):
    """Initial states near the attractor, for ensembles.

    Points of one orbit from the default state, `gap` steps apart (50 for a flow, 10
    for a map), each moved by Gaussian noise of 1e-6 of the orbit's spread and kept
    inside the orbit's bounding box. Unlike a wide random cloud (`sample_state`), none
    starts outside the basin; the transient that follows decorrelates them.

    **Arguments:**

    - `system`: a `cj.Flow` or `cj.Map`.
    - `n`: the number of states.
    - `seed`: seed of the noise.
    - `dt`, `solver`: the step of a flow (`None` for a map) and its solver.

    **Returns:**

    A NumPy array of shape (n, dim).

    Example:

    ```python
    x0s = ensemble_states(cj.systems.Henon(), 64, seed=0)
    ```
    """
    gap = 50 if dt is not None else 10
    orbit = np.asarray(
        cj.trajectory(
            system, system.default_state(), steps=n * gap, dt=dt, solver=solver, save_every=gap
        )
    )[1:]
    lo, hi = orbit.min(0), orbit.max(0)
    noise = np.asarray(jax.random.normal(jax.random.key(seed), orbit.shape))
    return np.clip(orbit + 1e-6 * (hi - lo) * noise, lo, hi)
