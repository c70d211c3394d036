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


def batch_errors(history, history_steps, batches: int = 20) -> tuple[np.ndarray, float, int]:
    """Standard errors of the exponents and of the Kaplan-Yorke dimension, by the
    jackknife over consecutive batches of the run (batch means; Flyvbjerg & Petersen
    1989, J. Chem. Phys. 91, 461).

    The running estimates `history[i]` after `history_steps[i]` steps give the
    log-growth of each stretch between rows; `batches` consecutive stretches of equal
    row counts are the batches. Leaving one batch out at a time gives the jackknife
    estimates; NaN when there are fewer than two batches. Returns (errors of the
    exponents, error of the dimension, number of batches).
    """
    h = np.asarray(history, dtype=float)
    n = np.asarray(history_steps, dtype=float)
    k = h.shape[-1]
    if h.ndim != 2 or len(n) < 2:
        return np.full(k, np.nan), float("nan"), len(n)
    sums = h * n[:, None]  # cumulative log-growth (per unit time) x steps
    edges = np.unique(np.linspace(0, len(n), min(batches, len(n)) + 1).astype(int))
    cum_s = np.vstack([np.zeros(k), sums])[edges]
    cum_n = np.concatenate([[0.0], n])[edges]
    ds, dn = np.diff(cum_s, axis=0), np.diff(cum_n)
    b = len(dn)
    if b < 2:
        return np.full(k, np.nan), float("nan"), b
    loo = (cum_s[-1] - ds) / (cum_n[-1] - dn)[:, None]  # leave-one-batch-out estimates
    ky = np.array([float(np.asarray(cj.kaplan_yorke_dimension(row))) for row in loo])
    factor = (b - 1) / b
    err = np.sqrt(factor * ((loo - loo.mean(0)) ** 2).sum(0))
    return err, float(np.sqrt(factor * ((ky - ky.mean()) ** 2).sum())), b


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
    err, ky_err, batches = batch_errors(res.history, res.history_steps)
    r.put(
        "lyapunov_error",
        err,
        ("exponent",),
        unit,
        "standard error of the exponents (jackknife over batches of the run)",
    )
    r.put(
        "kaplan_yorke_error",
        ky_err,
        long_name="standard error of the Kaplan-Yorke dimension (jackknife over batches)",
    )
    r.put("lyapunov_batches", batches, long_name="batches of the jackknife")
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
    off: list[int] = []  # exponents further from the literature than two errors
    if has_ref:
        r.put(
            "lyapunov_difference",
            lam - np.asarray(ref),
            ("exponent",),
            unit,
            "computed minus literature",
        )
        ok = np.isfinite(err) & (err > 0)
        z = np.where(ok, np.abs(lam - np.asarray(ref)) / np.where(ok, err, 1.0), np.nan)
        r.put(
            "lyapunov_difference_errors",
            z,
            ("exponent",),
            long_name="|computed - literature| in standard errors",
        )
        off = [j for j in range(len(lam)) if np.isfinite(z[j]) and z[j] > 2.0]
    s.parts.append(
        page.snippets("lyapunov").spectrum(
            r,
            exponents=len(lam),
            has_ref=has_ref,
            has_contraction="contraction_rate" in r.values,
            off=off,
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
