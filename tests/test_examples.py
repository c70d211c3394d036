"""The example scripts run and print what they promise (run in a temporary folder)."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _run(name, tmp_path, *args):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_smoothed_sigmoid_example_counts_per_c(tmp_path):
    text = _run("smoothed_sigmoid.py", tmp_path)
    assert "c = 1: {'fixed_point': 1401}" in text
    assert "c = 1000:" in text and "periodic" in text
    assert list((tmp_path / "out" / "smoothed_sigmoid").glob("*.png"))


@pytest.mark.slow
def test_piecewise_linear_example_reports_without_forcing_labels(tmp_path):
    text = _run("piecewise_linear.py", tmp_path)
    assert "mu < 0: ['fixed_point'];  mu > 0: ['periodic']" in text
    assert "no fixed point -> chaos transition in the printed example" in text
    assert "mu > 0: {'chaotic': 200}" in text


@pytest.mark.slow
def test_delay_mlp_henon_example_prints_maus_figures_beside_the_fits(tmp_path):
    text = _run("delay_mlp_henon.py", tmp_path)
    assert "selection: LowestNMSE() -> restart" in text
    assert "Maus: network" in text and "inverted map, exact along the data" in text
    assert "annealing (200,000 steps)" in text and "SVR, along the data" in text


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_rnn_lyapunov_aelle_quick_mode_writes_the_dataset(tmp_path):
    text = _run("rnn_lyapunov_aelle.py", tmp_path, "--quick", "--out", "res")
    assert "lam_1 crosses 0" in text and "cross-validated" in text
    res = tmp_path / "res"
    ds = xr.load_dataset(res / "rnn_lyapunov_aelle.nc")
    for name in (
        "architecture", "width", "gain", "learning_rate", "seed", "accuracy", "spectrum",
        "lambda_max", "lambda_mean", "ky_dimension", "lambda_max_initial", "latent",
        "top_quartile",
    ):  # fmt: skip
        assert name in ds, name
    assert ds.sizes["network"] == 12 and ds.latent.shape == (12, 2)
    assert set(ds.architecture.values) == {"rnn", "gru", "lstm"}
    # An LSTM of width 8 has 16 exponents; a tanh RNN's or GRU's 8, then NaN padding.
    lstm = ds.architecture.values == "lstm"
    assert np.all(ds.state_dim.values[lstm] == 16) and np.all(ds.state_dim.values[~lstm] == 8)
    assert np.all(np.isnan(ds.spectrum.values[~lstm, 8:]))
    assert np.all(np.diff(ds.spectrum.values[lstm], axis=1) <= 0)
    assert (res / "exponents_accuracy.png").stat().st_size > 0
    assert (res / "aelle_latent.png").stat().st_size > 0
    assert "cv" in (res / "summary.json").read_text()


@pytest.mark.slow
def test_tokenised_time_scales_quick_mode_prints_every_figure(tmp_path):
    text = _run("tokenised_time_scales.py", tmp_path, "--quick")
    assert "lorenz printed (28, 10, 2.67)" in text and "settles on a fixed point" in text
    assert "rossler printed (0.15, 0.2, 10)" in text and "(paper: 5.33)" in text
    assert "2. Divergence times of true continuations" in text
    line = next(s for s in text.splitlines() if s.strip().startswith("true states, 10 x"))
    assert abs(float(line.split("fit 1..15:")[1].split()[0]) - 0.4148) < 0.003


@pytest.mark.slow
def test_judge_lorenz_models_quick_mode_writes_every_verdict(tmp_path):
    text = _run("judge_lorenz_models.py", tmp_path, "--quick", "--out", "judged")
    for name in ("esn", "ngrc", "neural_ode"):
        assert f"=== {name}" in text
        assert (tmp_path / "judged" / f"{name}.nc").is_file()
        assert (tmp_path / "judged" / f"{name}_forecast.png").is_file()
    assert "| model | dt | VPT" in (tmp_path / "judged" / "summary.md").read_text()


@pytest.mark.slow
def test_transformer_henon_at_cpu_scale_matches_the_attractor(tmp_path):
    # 100 x 10,000 training tokens, N = 50, 1.15 M parameters, 9 minutes on 2 cores.
    # Measured: W1 1.75x the true-halves distance, exponent 0.4145 (control 0.4140).
    _run("transformer_henon.py", tmp_path, "--minutes", "10", "--out", "tf")
    summary = json.loads((tmp_path / "tf" / "summary.json").read_text())
    assert summary["sampled_w1_ratio"] < 2.0
    assert abs(summary["sampled_exponent"] - 0.4192) < 0.02
    assert summary["greedy_w1_ratio"] > 10.0  # the documented failure mode


@pytest.mark.slow
def test_transformer_henon_quick_mode_runs(tmp_path):
    text = _run("transformer_henon.py", tmp_path, "--quick", "--out", "tf")
    assert "| sampled, T = 1 |" in text and "control" in text


@pytest.mark.slow
def test_transformer_table_quick_mode_gives_every_row(tmp_path):
    # Tiny models (200 steps each): about 80 s. Measured: Henon 1.19x, Lorenz standard
    # 0.80-0.91x, Rossler 0.87x the true-vs-true distance.
    _run("transformer_table.py", tmp_path, "--quick", "--out", "tt")
    rows = json.loads((tmp_path / "tt" / "table.json").read_text())
    assert [(r["name"], r["n"]) for r in rows] == [
        ("lorenz-printed", 20), ("lorenz-printed", 35), ("lorenz-printed", 50),
        ("lorenz-standard", 20), ("lorenz-standard", 35), ("lorenz-standard", 50),
        ("henon", 50), ("rossler-printed", 50),
    ]  # fmt: skip
    for r in rows:
        assert r["vocab"] < r["grid"] and r["w1_true"] > 0
        if r["name"] != "lorenz-printed":  # chaotic: generated states like the true ones
            assert r["ratio"] < 3.0, r
    assert all("td_model_mean" in r for r in rows if r["n"] == 50 and r["name"] in
               ("lorenz-standard", "rossler-printed"))  # fmt: skip
    assert "paper: GPT-2 vs True1" in (tmp_path / "tt" / "table.md").read_text()


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_discontinuity_bifurcations_quick_mode_prints_every_figure(tmp_path):
    text = _run("discontinuity_bifurcations.py", tmp_path, "--quick")
    for line in (
        "x' = r + x^2           r = +0.0000000000: fold",
        "x' = r x - x^2         r = -0.0000000000: transcritical",
        "pitchfork (supercritical); w.g_p = +0, w.g_xp v = +1, a = +0, b = -1",
        "pitchfork (subcritical); w.g_p = +0, w.g_xp v = +1, a = +0, b = +1",
        "Lorenz63 origin        rho = +1.0000000000: pitchfork (supercritical)",
        "omega = 2, s = -1: l1 = -0.500000000000",
        "rho_H = 24.736842105, hopf, l1 = +1.32759e-04 (subcritical)",
        "classified 'persistence'",
        "classified 'nonsmooth fold'",
        "classified 'limit cycle'",
        "mu = +1 oscillates, x1 range 28.06",
        "classified 'chaos'",
        "non-smooth fold at mu = ",
    ):
        assert line in text, line
    assert "mu = -1 fixed point [-1. -1.]; mu = +1 diverges" in text
    lam = float(text.split("mu = +1 lambda_1 = ")[1].split()[0])
    assert lam > 0.1
    err = float(text.split("; error ")[1].split(";")[0])
    assert abs(err) < 1e-5
    agree = float(text.split("periods equal at ")[1].split()[0])
    assert agree > 85.0


@pytest.mark.slow  # the default suite's time budget; unit tests cover the parts
def test_resnet_limit_quick_mode_gives_first_order_for_tanh(tmp_path):
    text = _run("resnet_limit.py", tmp_path, "--quick")

    def orders(name):
        lines = [ln for ln in text.splitlines() if ln.split()[:1] == [name]]
        return [float(ln.split("order ")[1].split()[0]) for ln in lines]

    # Trajectory then largest exponent (measured 1.022 and 1.010): Euler's first order.
    tanh = orders("tanh")
    assert len(tanh) == 2 and all(abs(p - 1.0) < 0.15 for p in tanh), tanh
    for name in ("logistic", "arctan", "softplus", "elu", "relu"):
        assert abs(orders(name)[0] - 1.0) < 0.15, name
    # The step layer's tangent map is the identity; the flow's has its saltation matrices.
    assert "singular values [1.3713 0.6764] (flow" in text
    assert "[1. 1.] (layer: sigma' = 0)" in text
