"""The report's learned-model section: a model fitted to the system (a file written by
`chaosjax learn` or `cj.learn.save`) judged against it by `cj.learn.evaluate`: valid
prediction time, invariant distributions beside the true-vs-true reference, Lyapunov
spectra side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chaosjax as cj

from ..systems import Flow, Map
from . import page
from .results import Report, Section

MODEL_FILE = "model.eqx"


def load_model(spec: str) -> Flow | Map:
    """The model in file `spec` (or in `spec`/model.eqx for a directory)."""
    path = Path(spec)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise ValueError(f"`model` {spec!r}: no such file (write one with `chaosjax learn`).")
    model = cj.learn.load(path)
    if not isinstance(model, (Flow, Map)):
        raise ValueError(f"`model` {spec!r} holds a {type(model).__name__}, not a system.")
    return model


def _model_dt(model: Flow | Map, r: Report) -> float | None:
    """A map of a flow (an echo-state network) is judged at its own step."""
    if isinstance(model, Map) and model.time_per_step != 1.0:
        return float(model.time_per_step)
    return r.dt if (r.flow or isinstance(model, Flow)) else None


def run(r: Report, s: Section) -> None:
    from .. import plot as cjp  # matplotlib loads when a figure is drawn

    cfg = r.cfg
    if not cfg.get("model"):
        return s.not_applicable("no learned model was given (`--model PATH`)")
    model = load_model(cfg["model"])
    quick = bool(cfg["quick"])
    with r.busy("judging the learned model"):
        verdict = cj.learn.evaluate(
            model,
            r.system,
            dt=_model_dt(model, r),
            solver=cfg["solver"],
            starts=5 if quick else 10,
            runs=3 if quick else 5,
            horizon=10.0 if quick else 20.0,
            transient=cfg["lyapunov_transient"],
            spectrum_steps=max(1_000, cfg["lyapunov_steps"] // 10),
        )
    ds = verdict.dataset
    lyap = "vpt_lyapunov" in ds
    vpt = np.asarray(ds["vpt_lyapunov" if lyap else "vpt_time"], dtype=float)
    unit = "Lyapunov times" if lyap else "time units"
    r.put("model_vpt_mean", vpt.mean(), (), unit, "mean valid prediction time")
    r.put("model_vpt_std", vpt.std(), (), unit, "spread of the valid prediction time")
    r.put("model_vpt_min", vpt.min(), (), unit, "shortest valid prediction time")
    r.put("model_vpt_max", vpt.max(), (), unit, "longest valid prediction time")
    r.put("model_starts", ds.sizes["start"], long_name="test starts")
    r.put("model_threshold", float(ds.attrs["threshold"]), long_name="error threshold")
    r.put("model_runs", int(ds.attrs["runs"]), long_name="long runs")
    r.put("model_run_steps", int(ds.attrs["run_steps"]), long_name="steps per long run")
    r.put("model_pairs", ds.sizes["pair"], long_name="pairs of true runs")
    per = "1/time" if float(ds.attrs["dt"]) != 1.0 else "1/iteration"
    r.coord("model_exponent", np.asarray(ds["exponent"]), "", "exponent index")
    r.put("model_exponents", np.asarray(ds["exponents_model"]), ("model_exponent",), per,
          "Lyapunov exponents of the learned model")  # fmt: skip
    r.put("model_truth_exponents", np.asarray(ds["exponents_truth"]), ("model_exponent",), per,
          "Lyapunov exponents of the system, same run lengths")  # fmt: skip
    r.put("model_ky", float(ds["ky_model"]), long_name="Kaplan-Yorke dimension of the model")
    r.put("model_truth_ky", float(ds["ky_truth"]), long_name="Kaplan-Yorke dimension of the system")
    names = [str(c) for c in np.asarray(ds["coordinate"])]
    r.coord("model_coordinate", np.asarray(names), "", "observed coordinate")
    r.put("model_wasserstein", np.asarray(ds["wasserstein_model"]).mean(axis=(0, 1)),
          ("model_coordinate",), "state units", "mean W1, model runs vs true runs")  # fmt: skip
    r.put("model_wasserstein_reference", np.asarray(ds["wasserstein_reference"]).mean(axis=0),
          ("model_coordinate",), "state units", "mean W1 over all pairs of true runs")  # fmt: skip
    r.put("model_wasserstein_ratio", np.asarray(ds["wasserstein_ratio"]), ("model_coordinate",),
          "", "model-vs-truth over truth-vs-truth")  # fmt: skip
    r.put("model_diverged", int(ds.attrs["diverged"]), long_name="whether a model run diverged")
    s.parts.append(
        page.snippets("model").verdict(
            r,
            name=r.t("model_name", str(ds.attrs["model"]), "code"),
            unit=unit,
            exponents=ds.sizes["exponent"],
            names=names,
        )
    )
    s.parts.append(r.figure(cjp.forecast_vs_truth(verdict), "model_forecast.png",
                            "Forecast from the first test start against the truth; green: the "
                            "end of the valid prediction"))  # fmt: skip
    s.parts.append(r.figure(cjp.invariant_distributions(verdict), "model_distributions.png",
                            "Long-run distributions of model (red) and system (grey)"))  # fmt: skip
    s.parts.append(r.figure(cjp.spectra_side_by_side(verdict), "model_spectra.png",
                            "Lyapunov exponents of model and system"))  # fmt: skip
