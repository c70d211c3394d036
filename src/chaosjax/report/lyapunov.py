"""The report's Lyapunov section: the spectrum by the QR (Benettin) method with its
convergence, checked against the literature and against the mean phase-space
contraction, and the Kaplan-Yorke dimension."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import chaosjax as cj

from .. import io as cjio
from . import page
from .results import Report, Section


def _contraction_rate(r: Report) -> float:
    """The mean phase-space contraction along the orbit: <div f> for a flow (per unit
    time), <log |det DF|> for a map (per iteration). The exponents must sum to it."""
    cfg, sysm = r.cfg, r.system
    if r.flow:
        obs = sysm.divergence
    else:

        def obs(x):
            return jnp.log(jnp.abs(jnp.linalg.det(jnp.atleast_2d(sysm.jacobian(x)))))

    with r.busy("contraction rate along the orbit"):
        value = cj.time_average(
            sysm,
            sysm.default_state(),
            obs,
            steps=cfg["lyapunov_steps"],
            dt=r.dt,
            solver=cfg["solver"],
            transient=cfg["lyapunov_transient"],
        )
    return float(np.asarray(value))


def run(r: Report, s: Section) -> None:
    from ..plot import _report as figs  # matplotlib loads when a figure is drawn

    cfg, sysm = r.cfg, r.system
    with r.busy("Lyapunov spectrum"):
        res = cj.lyapunov_spectrum(
            sysm,
            sysm.default_state(),
            steps=cfg["lyapunov_steps"],
            dt=r.dt,
            solver=cfg["solver"],
            transient=cfg["lyapunov_transient"],
        )
    lam = np.asarray(res.exponents)
    unit = "1/time" if r.flow else "1/iteration"
    r.put("lyapunov_exponents", lam, ("exponent",), unit, "Lyapunov exponents")
    r.put("lyapunov_sum", lam.sum(), (), unit, "sum of the exponents")
    hist_t = np.asarray(res.history_steps) * (r.dt or 1.0)
    r.coord(
        "lyapunov_history_time",
        hist_t,
        "time units" if r.flow else "iterations",
        "averaging time of the running estimate",
    )
    r.store(
        "lyapunov_history",
        np.asarray(res.history),
        ("lyapunov_history_time", "exponent"),
        unit,
        "running estimates of the exponents",
    )
    r.put(
        "kaplan_yorke_dimension",
        float(np.asarray(cj.kaplan_yorke_dimension(lam))),
        long_name="Kaplan-Yorke dimension",
    )
    try:
        r.put(
            "contraction_rate",
            _contraction_rate(r),
            (),
            unit,
            "mean divergence of the vector field" if r.flow else "mean log |det DF|",
        )
    except Exception:  # noqa: BLE001 - a check only; a system without a Jacobian skips it
        pass
    ref = r.values.get("reference_exponents")
    has_ref = ref is not None and len(ref) == len(lam)
    if has_ref:
        r.put(
            "lyapunov_difference",
            lam - np.asarray(ref),
            ("exponent",),
            unit,
            "computed minus literature",
        )
    s.parts.append(
        page.snippets("lyapunov").spectrum(
            r,
            exponents=len(lam),
            has_ref=has_ref,
            has_contraction="contraction_rate" in r.values,
        )
    )
    fig = figs.lyapunov_convergence(
        hist_t,
        res.history,
        reference=ref if has_ref else None,
        unit="time" if r.flow else "iterations",
        title=f"{cjio.system_name(sysm)}: Lyapunov spectrum",
    )
    s.parts.append(
        r.figure(
            fig,
            "lyapunov_convergence.png",
            "Running estimates of the exponents (dashed: literature values)"
            if has_ref
            else "Running estimates of the exponents",
        )
    )
