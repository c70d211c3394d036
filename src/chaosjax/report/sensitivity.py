"""The report's sensitivity section: the derivative of a long-time average with respect
to a parameter, three ways. Finite-time gradients by automatic differentiation blow up
like exp(lambda1 T); least-squares shadowing (Wang 2014, SIAM J. Numer. Anal. 52,
156-170) estimates the derivative of the long-time average; a central difference of
ensemble averages checks both."""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

import chaosjax as cj

from .. import io as cjio
from . import page
from .results import Report, Section
from .selection import ensemble_states


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
        with r.busy("finite-difference reference"):
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
            )
        out.append((float(ens.mean), float(ens.sem)))
    (m0, s0), (m1, s1) = out
    return delta, (m1 - m0) / (2 * delta), math.hypot(s0, s1) / (2 * delta)


def _shadowing(r: Report, param: str, i: int) -> float:
    """d`<x_i>`/dp by least-squares shadowing, recorded with its standard error."""
    cfg, sysm = r.cfg, r.system
    kw: dict[str, Any] = {"dt": r.dt, "solver": cfg["solver"]} if r.flow else {}
    with r.busy("least-squares shadowing"):
        res = cj.shadowing_sensitivity(
            sysm,
            param,
            r.coordinate(i),
            sysm.default_state(),
            steps=cfg["shadowing_steps"],
            transient=cfg["transient"],
            segments=cfg["shadowing_segments"],
            **kw,
        )
    value = float(np.asarray(res.derivative))
    r.put("shadowing_derivative", value, long_name="d<S>/dp by least-squares shadowing")
    r.put(
        "shadowing_error",
        float(np.asarray(res.standard_error)),
        long_name="standard error over the windows",
    )
    r.put(
        "shadowing_window",
        float(res.time_per_window),
        (),
        "time units" if r.flow else "iterations",
        "length of one window",
    )
    r.store(
        "shadowing_estimates",
        np.asarray(res.estimates),
        ("shadowing_window_index",),
        long_name="one estimate per window",
    )
    return value


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
    s.parts.append(html.shadowing(r, param=param, i=i))
    if fd is not None:
        s.parts.append(html.finite_difference(r, param=param, i=i))
    with r.busy("finite-time gradients over horizons"):
        tab = cj.sensitivity_blowup_table(
            sysm,
            param,
            r.coordinate(i),
            horizons=cfg["horizons"],
            dt=r.dt,
            solver=cfg["solver"],
            x0=ensemble_states(
                sysm, cfg["sensitivity_members"], cfg["seed"] + 2, dt=r.dt, solver=cfg["solver"]
            ),
        )
    grads = np.asarray(tab.gradients)
    r.put("blowup_horizon", np.asarray(tab.horizons), ("horizon",), unit, "horizon T")
    r.put("blowup_mean", np.asarray(tab.mean), ("horizon",), long_name="mean gradient")
    r.put("blowup_std", np.asarray(tab.std), ("horizon",), long_name="std of gradients")
    r.put("blowup_median", np.asarray(tab.median), ("horizon",), long_name="median gradient")
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
        T = [float(t) for t in np.asarray(tab.horizons)]
        r.put("published_mean", [ref.get(t, (np.nan, np.nan))[0] for t in T], ("horizon",))
        r.put("published_std", [ref.get(t, (np.nan, np.nan))[1] for t in T], ("horizon",))
    s.parts.append(
        html.blowup(r, param=param, i=i, unit=unit, horizons=len(grads), published=published)
    )
    fig = figs.gradient_blowup(
        tab.horizons,
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
