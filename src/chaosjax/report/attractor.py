"""The report's attractor section: one orbit after the transient (phase portrait, time
series, extremes) and what kind of attractor it reaches (`cj.classify_attractor`)."""

from __future__ import annotations

from typing import Any

import numpy as np

import chaosjax as cj

from .. import io as cjio
from . import page
from .results import Report, Section


def run(r: Report, s: Section) -> None:
    from .. import plot  # matplotlib loads when a figure is drawn, not with the CLI

    cfg, sysm = r.cfg, r.system
    html = page.snippets("attractor")
    x0 = sysm.default_state()
    xs = cj.trajectory(
        sysm,
        x0,
        steps=cfg["trajectory_steps"],
        dt=r.dt,
        solver=cfg["solver"],
        transient=cfg["transient"],
        save_every=cfg["save_every"],
        progress=r.progress,
    )
    xs = np.asarray(xs)
    steps = cfg["transient"] + cfg["save_every"] * np.arange(xs.shape[0])
    times = steps * (r.dt or 1.0)
    r.coord(
        "trajectory_time",
        times,
        "time units" if r.flow else "iterations",
        "time since x0 (transient included)",
    )
    r.store("trajectory", xs, ("trajectory_time", "variable"), "state units", "trajectory")
    r.put("trajectory_min", xs.min(0), ("variable",), "state units")
    r.put("trajectory_max", xs.max(0), ("variable",), "state units")
    r.put("trajectory_mean", xs.mean(0), ("variable",), "state units")
    k = min(sysm.dim, 3)
    labels = list(sysm.variable_names())
    name = cjio.system_name(sysm)
    fig = plot.phase_portrait(
        xs, dims=tuple(range(k)) if k >= 2 else (0,), title=name, labels=labels
    )
    s.parts.append(html.orbit(r))
    s.parts.append(
        r.figure(
            fig,
            "phase_portrait.png",
            "Phase portrait of the attractor"
            if sysm.dim > 1
            else f"Return map {labels[0]}(n+1) against {labels[0]}(n)",
        )
    )
    window = xs if r.flow else xs[: min(len(xs), 300)]
    tw = times[: len(window)]
    fig = plot.time_series(tw, window[:, :k], title=name, labels=labels[:k])
    s.parts.append(
        r.figure(
            fig,
            "time_series.png",
            "Time series of the first coordinates"
            if r.flow
            else "The first iterates after the transient",
        )
    )
    s.parts.append(html.extremes(r, min(sysm.dim, 6)))
    s.parts.append(_classification(r))


def _classification(r: Report):
    """One line: what kind of attractor the default orbit reaches."""
    kw: dict[str, Any] = {"dt": r.dt, "solver": r.cfg["solver"]} if r.flow else {}
    transient = min(10_000, max(r.cfg["transient"], 1_000))
    with r.busy("classifying the attractor"):
        c = cj.classify_attractor(
            r.system,
            r.system.default_state(),
            transient=transient,
            keep=128,
            lyap_steps=min(10_000, r.cfg["lyapunov_steps"]),
            **kw,
        )
    exps = np.asarray(c.exponents)
    r.put("classification_transient", transient, long_name="transient of the classification")
    r.put(
        "classification_steps",
        min(10_000, r.cfg["lyapunov_steps"]),
        long_name="steps of the exponents of the classification",
    )
    r.put(
        "classification_exponents",
        exps,
        ("leading_exponent",),
        "1/time" if r.flow else "1/iteration",
        "leading exponents (classification)",
    )
    period = int(np.asarray(c.period))
    if period:
        r.put("classification_period", period)
    return page.snippets("attractor").classification(
        r, label=c.label, period=period, exponents=len(exps)
    )
