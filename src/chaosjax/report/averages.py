"""The report's time-average section: the running average of each coordinate over an
ensemble of initial states, and the spread of the finite-time averages across members
(the cumulative-average band)."""

from __future__ import annotations

import math

import numpy as np

import chaosjax as cj

from .. import io as cjio
from . import page
from .results import Report, Section
from .selection import ensemble_states


def divisor_near(steps: int, target: int) -> int:
    """The divisor of `steps` at or below `steps // target`: a save interval that gives
    about `target` saves and ends on the last step."""
    k = max(1, steps // max(target, 1))
    while steps % k:
        k -= 1
    return k


def run(r: Report, s: Section) -> None:
    from .. import plot  # matplotlib loads when a figure is drawn, not with the CLI

    cfg, sysm = r.cfg, r.system
    n, k = cfg["members"], cfg["observables"]
    x0s = ensemble_states(sysm, n, cfg["seed"], dt=r.dt, solver=cfg["solver"])
    every = divisor_near(cfg["average_steps"], 200)
    ca = cj.observables.cumulative_average(
        sysm,
        x0s,
        lambda x: x[:k],
        steps=cfg["average_steps"],
        dt=r.dt,
        solver=cfg["solver"],
        transient=cfg["transient"],
        save_every=every,
        progress=r.progress,
    )
    a = np.asarray(ca.averages)  # (members, saves, k)
    t = np.asarray(ca.times)
    final = a[:, -1, :]
    std = final.std(0, ddof=1) if n > 1 else np.zeros(k)
    r.coord("averaging_time", t, "time units" if r.flow else "iterations", "averaging time T")
    r.store(
        "cumulative_average",
        a,
        ("member", "averaging_time", "observable"),
        "state units",
        "running time average of each coordinate",
    )
    r.store("ensemble_initial_state", np.asarray(x0s), ("member", "variable"), "state units")
    r.put("average_mean", final.mean(0), ("observable",), "state units", "ensemble mean")
    r.put("average_std", std, ("observable",), "state units", "ensemble std (ddof=1)")
    r.put("average_sem", std / math.sqrt(n), ("observable",), "state units", "standard error")
    span = cfg["average_steps"] * (r.dt or 1)
    r.put("averaging_span", span, (), "time units" if r.flow else "iterations")
    html = page.snippets("averages")
    s.parts.append(html.averages(r, observables=k))
    figures = []
    names = sysm.variable_names()
    for i in range(k):
        fig = plot.cumulative_average_band(
            t,
            a[:, :, i],
            label=f"running average of {names[i]}",
            title=f"{cjio.system_name(sysm)}: cumulative average of {names[i]}",
        )
        figures.append(
            r.figure(
                fig,
                f"cumulative_average_{page.file_token(names[i], i)}.png",
                f"Cumulative time average of {names[i]}: ensemble mean, "
                "one-standard-deviation band and a few members",
            )
        )
    s.parts.append(html.grid(figures))
