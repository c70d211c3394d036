"""The report's sensitivity section: the derivative of a long-time average with respect
to a parameter, four ways. Finite-time gradients by automatic differentiation blow up
like exp(lambda1 T); least-squares shadowing (Wang 2014, SIAM J. Numer. Anal. 52,
156-170) estimates the derivative of the long-time average, leaving out the change of
the invariant density along the unstable manifold; the full linear response (S3,
Chandramoorthy & Wang 2022, SIAM J. Appl. Dyn. Syst. 21) adds it where the unstable
manifold is one-dimensional; a central difference of ensemble averages checks them.
`summary.judge` compares the estimates and says which to trust, and why."""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

import chaosjax as cj

from .. import io as cjio
from .._progress import progress_bar
from . import page
from .results import Report, Section
from .selection import ensemble_states
from .summary import judge


def _finite_difference(r: Report, param: str, index: int):
    """Central difference of ensemble time averages at p -/+ delta (same initial states):
    an independent estimate of `d<S>/dp` to set beside the shadowing derivative."""
    cfg, sysm = r.cfg, r.system
    p = float(np.asarray(sysm.parameters()[param]))
    delta = (0.05 if r.flow else 0.01) * (abs(p) if p else 1.0)
    x0s = ensemble_states(sysm, cfg["members"], cfg["seed"] + 1, dt=r.dt, solver=cfg["solver"])
    out = []
    observable = r.coordinate(index)  # one function object: one compilation for both runs
    for value in (p - delta, p + delta):
        ens = cj.ensemble_time_average(
            sysm.replace(**{param: value}),
            jax.random.key(cfg["seed"]),  # unused: x0 is given
            cfg["members"],
            observable,
            steps=cfg["average_steps"],
            dt=r.dt,
            solver=cfg["solver"],
            transient=cfg["transient"],
            x0=x0s,
            progress=r.progress,
        )
        out.append((float(ens.mean), float(ens.sem)))
    (m0, s0), (m1, s1) = out
    return delta, (m1 - m0) / (2 * delta), math.hypot(s0, s1) / (2 * delta)


def _windowed(r: Report, param: str, i: int, method: str, what: str, name: str, label: str):
    """One `shadowing_sensitivity` run by `method` (`what` shown while it runs), its
    derivative recorded as `{name}_derivative` with its standard error, window length and
    per-window estimates; returns the result."""
    cfg, sysm = r.cfg, r.system
    kw: dict[str, Any] = {"dt": r.dt, "solver": cfg["solver"]} if r.flow else {}
    steps = cfg["shadowing_steps" if method == "lss" else "linear_response_steps"]
    with r.busy(f"{what} (one compiled run)"):
        res = cj.shadowing_sensitivity(
            sysm,
            param,
            r.coordinate(i),
            sysm.default_state(),
            steps=steps,
            transient=cfg["transient"],
            segments=cfg["shadowing_segments"],
            method=method,
            **kw,
        )
    r.put(f"{name}_derivative", float(np.asarray(res.derivative)), long_name=f"d<S>/dp by {label}")
    r.put(
        f"{name}_error",
        float(np.asarray(res.standard_error)),
        long_name="standard error over the windows",
    )
    r.put(
        f"{name}_window",
        float(res.time_per_window),
        (),
        "time units" if r.flow else "iterations",
        "length of one window",
    )
    return res


def _shadowing(r: Report, param: str, i: int) -> float:
    """d`<x_i>`/dp by least-squares shadowing, recorded with its standard error."""
    res = _windowed(
        r, param, i, "lss", "least-squares shadowing", "shadowing", "least-squares shadowing"
    )
    r.store(
        "shadowing_estimates",
        np.asarray(res.estimates),
        ("shadowing_window_index",),
        long_name="one estimate per window",
    )
    return float(np.asarray(res.derivative))


def _linear_response(r: Report, param: str, i: int) -> float | None:
    """d`<x_i>`/dp by the full linear response (S3, Chandramoorthy & Wang 2022), recorded
    with its standard error and its three parts; None (with a note recorded under
    `strings.linear_response_note`) where it does not apply."""
    if not r.cfg["linear_response_steps"]:
        r.t("linear_response_note", "not asked for (linear_response_steps = 0)")
        return None
    try:
        res = _windowed(
            r, param, i, "s3", "linear response, S3", "linear_response", "the linear response (S3)"
        )
    except ValueError as e:  # not one unstable direction, or windows too short
        r.t("linear_response_note", str(e))
        return None
    r.put("linear_response_windows", len(np.asarray(res.estimates)), long_name="windows")
    r.put(
        "linear_response_parts",
        np.asarray(res.parts),
        ("linear_response_part",),
        long_name="shadowing-like, flow-direction and unstable contributions",
    )
    return float(np.asarray(res.derivative))


def _blowup(r: Report, param: str, i: int, x0s: np.ndarray):
    """The finite-time gradient table in chunks of initial conditions (a progress bar
    advances per chunk; every chunk has the same shape, so it compiles once). Returns
    (horizons, gradients (h, n))."""
    cfg, sysm = r.cfg, r.system
    n = len(x0s)
    size = max(2, -(-n // 8))
    chunks = -(-n // size)
    padded = np.concatenate([x0s, np.repeat(x0s[-1:], chunks * size - n, axis=0)])
    grads, horizons = [], np.asarray(cfg["horizons"], dtype=float)
    with progress_bar(r.progress, n, "finite-time gradients") as bar:
        for c in range(chunks):
            tab = cj.sensitivity_blowup_table(
                sysm,
                param,
                r.coordinate(i),
                horizons=cfg["horizons"],
                dt=r.dt,
                solver=cfg["solver"],
                x0=padded[c * size : (c + 1) * size],
            )
            grads.append(np.asarray(tab.gradients))
            horizons = np.asarray(tab.horizons)
            bar.advance(min(size, n - c * size))
    return horizons, np.concatenate(grads, axis=1)[:, :n]


def run(r: Report, s: Section) -> None:
    from ..plot import _report as figs  # matplotlib loads when a figure is drawn

    cfg, sysm = r.cfg, r.system
    param, i = cfg["sensitivity_parameter"], cfg["sensitivity_observable"]
    if param is None:
        return s.not_applicable("this system has no scalar parameter to differentiate by")
    html = page.snippets("sensitivity")
    unit = "time units" if r.flow else "iterations"
    r.put(
        "sensitivity_parameter_value",
        np.asarray(sysm.parameters()[param]),
        long_name=f"value of {param}",
    )
    s.parts.append(html.intro(r, param=param, i=i))
    lam1 = r.values.get("lyapunov_exponents", [None])[0]
    fd = None
    try:
        delta, fd, fd_err = _finite_difference(r, param, i)
        r.put("finite_difference_delta", delta, long_name=f"half step in {param}")
        r.put("finite_difference", fd, long_name="central difference of ensemble averages")
        r.put("finite_difference_error", fd_err, long_name="its standard error")
    except cj.DivergenceError as e:
        r.t("finite_difference_note", str(e))
    shadow = _shadowing(r, param, i)
    s3 = _linear_response(r, param, i)
    s.parts.append(html.shadowing(r, param=param, i=i))
    s.parts.append(html.linear_response(r, param=param, i=i, computed=s3 is not None))
    if fd is not None:
        s.parts.append(html.finite_difference(r, param=param, i=i))
    s.parts.append(judge(r))
    horizons, grads = _blowup(
        r,
        param,
        i,
        ensemble_states(
            sysm, cfg["sensitivity_members"], cfg["seed"] + 2, dt=r.dt, solver=cfg["solver"]
        ),
    )
    r.put("blowup_horizon", horizons, ("horizon",), unit, "horizon T")
    r.put("blowup_mean", grads.mean(1), ("horizon",), long_name="mean gradient")
    r.put("blowup_std", grads.std(1, ddof=1), ("horizon",), long_name="std of gradients")
    r.put("blowup_median", np.median(grads, 1), ("horizon",), long_name="median gradient")
    r.store(
        "blowup_gradients",
        grads,
        ("horizon", "sensitivity_member"),
        long_name="finite-time gradient per initial condition",
    )
    # The table published in the blog post "Chaotic Dynamical Systems Using JAX" (UW PLSE,
    # 2026, https://uwplse.org/2026/06/16/jax.html) holds for this system, parameter,
    # observable and step only, so it is shown beside ours only then.
    published = (
        cjio.system_name(sysm) == "lorenz63"
        and param == "rho"
        and i == 2
        and r.flow
        and abs((r.dt or 0) - 0.005) < 1e-12
        and sysm.at_defaults()
    )
    if published:
        ref = cj.sensitivity.PUBLISHED_BLOWUP_TABLE
        T = [float(t) for t in horizons]
        r.put("published_mean", [ref.get(t, (np.nan, np.nan))[0] for t in T], ("horizon",))
        r.put("published_std", [ref.get(t, (np.nan, np.nan))[1] for t in T], ("horizon",))
    s.parts.append(
        html.blowup(r, param=param, i=i, unit=unit, horizons=len(grads), published=published)
    )
    fig = figs.gradient_blowup(
        horizons,
        grads,
        lam1=lam1,
        shadowing=shadow,
        reference=fd,
        label=f"d<{sysm.variable_names()[i]}>_T / d{param}",
        unit=unit,
        title=f"{cjio.system_name(sysm)}: finite-time gradients blow up",
    )
    s.parts.append(
        r.figure(
            fig,
            "sensitivity_blowup.png",
            "Finite-time gradients against the horizon (symmetric log "
            "scale): their spread grows like exp(lambda1 T)",
        )
    )
