"""`chaosjax evaluate` and the report's learned-model section: a saved model judged
against a system from the command line."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], prog_name="chaosjax")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    cj.learn.save(cj.systems.Henon(a=1.39), d / "model.eqx")
    return d


def test_evaluate_prints_the_verdict_and_writes_it(saved_model, tmp_path):
    out = tmp_path / "verdict"
    result = invoke(
        "evaluate", saved_model, "--truth", "henon", "--starts", 4, "--runs", 2,
        "--run-steps", 2_000, "--spectrum-steps", 2_000, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "valid prediction time" in result.output and "Wasserstein" in result.output
    for name in ("verdict.nc", "forecast.png", "distributions.png", "spectra.png"):
        assert (out / name).is_file(), name
    ds = cj.io.load(out / "verdict.nc")
    assert ds.sizes["start"] == 4 and ds.attrs["truth"] == "henon"
    assert np.all(np.asarray(ds["exceeded"]) == 1)


def test_evaluate_bad_input_is_a_user_error(saved_model, tmp_path):
    r = invoke("evaluate", tmp_path / "missing.eqx", "--truth", "henon")
    assert r.exit_code == 2 and "no such file" in r.stderr
    r = invoke("evaluate", saved_model, "--truth", "lorenz63")
    assert r.exit_code == 2 and "`model`" in r.stderr
    r = invoke("evaluate", saved_model, "--truth", "henon", "--threshold", "0")
    assert r.exit_code == 2 and "`threshold`" in r.stderr
    r = invoke("evaluate", saved_model)
    assert r.exit_code == 2 and "--truth" in r.stderr


def test_report_has_a_learned_model_section(saved_model, tmp_path):
    out = tmp_path / "report"
    result = invoke(
        "report", "henon", "--quick", "--sections", "system,model", "--model", saved_model,
        "--out", out, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    values = json.loads((out / "results.json").read_text())["values"]
    assert values["model_exponents"][0] == pytest.approx(0.41, abs=0.05)
    assert values["model_truth_exponents"][0] == pytest.approx(0.419, abs=0.02)
    assert len(values["model_wasserstein_ratio"]) == 2
    html = (out / "index.html").read_text()
    assert "model_forecast.png" in html and "learned model" in html
    # Without a model the section is not in the default report.
    cfg, _ = cj.report.resolve(cj.report.ReportConfig(system="henon"))
    assert "model" not in cfg["sections"]
