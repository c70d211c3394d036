"""`chaosjax learn`: each subcommand writes its files, the model loads back as the same
system, and bad input is a user error naming the option."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], prog_name="chaosjax")


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = result.stderr.lower()
    for fragment in fragments:
        assert fragment.lower() in text, result.stderr


@pytest.fixture(scope="module")
def delay_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("delay")
    result = invoke(
        "learn", "delay-mlp", "delayed_henon", "--points", 200, "--restarts", 2,
        "--steps", 300, "--lyap-steps", 1_000, "--out", out,
    )  # fmt: skip
    return result, out


@pytest.fixture(scope="module")
def sindy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sindy")
    result = invoke(
        "learn", "sindy", "lorenz63", "--points", 2_000, "--lyap-steps", 1_000, "-q",
        "--out", out,
    )  # fmt: skip
    return result, out


def test_delay_mlp_writes_model_metrics_and_figures(delay_run):
    result, out = delay_run
    assert result.exit_code == 0, result.output
    for name in ("model.eqx", "metrics.json", "loss.png", "exponents.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "delay_mlp" and m["lags"] == 5 and m["restarts"] == 2
    assert 0 <= m["nmse"] < 1e-2
    assert len(m["lag_sensitivities"]["learned"]) == 5
    # DelayedHenon(d=4) is itself a delay map: its exact S(j), padded to 5 lags.
    true_s = m["lag_sensitivities"]["true"]
    assert true_s[4] == 0.0 and true_s[3] == pytest.approx(0.1)
    assert len(m["lyapunov_exponents"]["learned"]) == 5
    assert len(m["lyapunov_exponents"]["true"]) == 4


def test_sindy_writes_model_metrics_and_figure(sindy_run):
    result, out = sindy_run
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet
    for name in ("model.eqx", "metrics.json", "exponents.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["terms"] == 7
    assert m["coefficients"]["x"]["x"] == pytest.approx(-10.0, rel=1e-3)
    assert m["coefficients"]["z"]["x y"] == pytest.approx(1.0, rel=1e-3)
    assert m["vector_field_relative_error"] < 1e-3


def test_cli_models_load_back_as_the_same_systems(delay_run, sindy_run):
    net = cj.learn.load(delay_run[1] / "model.eqx")
    assert isinstance(net, cj.learn.DelayMLP) and isinstance(net, cj.Map)
    check = json.loads((delay_run[1] / "metrics.json").read_text())["prediction_check"]
    step = np.asarray(net.step(jnp.asarray(check["state"])))
    np.testing.assert_array_equal(step, np.asarray(check["step"]))

    flow = cj.learn.load(sindy_run[1] / "model.eqx")
    assert isinstance(flow, cj.learn.SINDyFlow) and isinstance(flow, cj.Flow)
    check = json.loads((sindy_run[1] / "metrics.json").read_text())["prediction_check"]
    f = np.asarray(flow.vector_field(jnp.asarray(check["state"])))
    np.testing.assert_array_equal(f, np.asarray(check["vector_field"]))
    # Every analysis applies to the loaded model unchanged.
    res = cj.lag_sensitivities(net, net.default_state(), 200)
    assert res.sensitivities.shape == (5,)


def test_learn_from_a_simulated_file(tmp_path):
    data = tmp_path / "run.nc"
    sim = invoke("simulate", "lorenz63", "--steps", 1_500, "--dt", 0.002, "-q", "--out", data)
    assert sim.exit_code == 0, sim.output
    result = invoke(
        "learn", "sindy", "--data", data, "--lyap-steps", 500, "--no-plot", "-q",
        "--out", tmp_path / "s",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert m["dt"] == 0.002 and m["points"] == 1_501 and m["terms"] == 7
    assert m["lyapunov_exponents"]["true"] is None


def test_unknown_system_is_a_user_error(tmp_path):
    assert_user_error(invoke("learn", "sindy", "lorenz99", "--out", tmp_path), "lorenz99")
    assert_user_error(invoke("learn", "delay-mlp", "--out", tmp_path), "SYSTEM", "--data")


def test_bad_options_name_the_option(tmp_path):
    assert_user_error(
        invoke("learn", "delay-mlp", "henon", "--lags", 0, "--out", tmp_path), "--lags"
    )
    assert_user_error(
        invoke("learn", "sindy", "lorenz63", "--derivative", "fd3", "--out", tmp_path),
        "--derivative",
    )
    assert_user_error(invoke("learn", "sindy", "henon", "--out", tmp_path), "map")
    f = tmp_path / "file"
    f.write_text("")
    assert_user_error(invoke("learn", "sindy", "lorenz63", "--out", f), "--out")


def test_nan_in_data_is_a_user_error_and_writes_nothing(tmp_path):
    lor = cj.systems.Lorenz63()
    xs = np.array(cj.trajectory(lor, lor.default_state(), steps=300, dt=0.01))
    xs[17, 1] = np.nan
    data = tmp_path / "nan.nc"
    cj.io.save(cj.io.trajectory_dataset(lor, xs, dt=0.01), data)
    out = tmp_path / "out"
    for command in ("sindy", "delay-mlp"):
        assert_user_error(invoke("learn", command, "--data", data, "--out", out), "--data", "nan")
    assert not out.exists()


def test_help_with_examples():
    top = invoke("--help")
    assert top.exit_code == 0 and "learn" in top.output
    for command in ("delay-mlp", "sindy", "neural-ode", "esn", "ngrc"):
        result = invoke("learn", command, "--help")
        assert result.exit_code == 0, result.output
        assert "Examples" in result.output and f"chaosjax learn {command}" in result.output


@pytest.mark.slow  # the default suite's time budget; other tests cover the parts
def test_neural_ode_writes_files_and_loads_back(tmp_path):
    out = tmp_path / "node"
    result = invoke(
        "learn", "neural-ode", "lorenz63", "--points", 200, "--hidden", 8, "--depth", 1,
        "--segment-steps", 5, "--steps", 100, "--lyap-steps", 500, "-q", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("model.eqx", "metrics.json", "loss.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "neural_ode" and metrics["points"] == 200
    # The true Lorenz63 spectrum is computed beside the learned one (sum = -(10 + 1 + 8/3)
    # up to the short run's error).
    assert abs(sum(metrics["lyapunov_exponents"]["true"]) + 13.6667) < 0.5
    flow = cj.learn.load(out / "model.eqx")
    assert isinstance(flow, cj.learn.NeuralODE) and isinstance(flow, cj.Flow)
    check = metrics["prediction_check"]
    f = np.asarray(flow.vector_field(jnp.asarray(check["state"])))
    np.testing.assert_array_equal(f, np.asarray(check["vector_field"]))


def test_neural_ode_bad_options_name_the_option(tmp_path):
    assert_user_error(
        invoke("learn", "neural-ode", "lorenz63", "--adjoint", "magic", "--out", tmp_path),
        "--adjoint",
    )
    assert_user_error(invoke("learn", "neural-ode", "henon", "--out", tmp_path), "map")
    assert_user_error(
        invoke(
            "learn",
            "neural-ode",
            "lorenz63",
            "--points",
            50,
            "--segment-steps",
            60,
            "--out",
            tmp_path,
        ),  # fmt: skip
        "--segment-steps",
    )


def test_esn_writes_files_judges_forecasts_and_loads_back(tmp_path):
    out = tmp_path / "esn"
    result = invoke(
        "learn", "esn", "lorenz63", "--units", 100, "--points", 3_000, "--washout", 50,
        "--horizon", 400, "--test-starts", 3, "--lyap-steps", 2_000, "-q", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("model.eqx", "metrics.json", "exponents.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "esn" and m["units"] == 100 and m["dt"] == 0.02 and m["search"] is None
    assert m["nmse"] < 1e-6
    test = m["test"]
    assert test["windows"] == 3 and len(test["vpt_time"]) == 3
    # Steps and times agree (dt = 0.02); even 100 units forecast Lorenz63 a few Lyapunov
    # times ahead.
    np.testing.assert_allclose(test["vpt_time"], 0.02 * np.array(test["vpt_steps"]))
    assert test["vpt_mean_lyapunov_times"] > 1.0
    assert len(m["lyapunov_exponents"]["learned"]) == 3
    model = cj.learn.load(out / "model.eqx")
    assert isinstance(model, cj.learn.EchoStateNetwork) and model.time_per_step == 0.02
    check = m["prediction_check"]
    step = np.asarray(model.step(jnp.asarray(check["state"])))
    np.testing.assert_array_equal(step, np.asarray(check["step"]))


def test_ngrc_learns_the_henon_map_and_searches_ridge(tmp_path):
    out = tmp_path / "ngrc"
    result = invoke(
        "learn", "ngrc", "henon", "--lags", 1, "--ridge", 0, "--ridge", 1e-3, "--horizon", 60,
        "--test-starts", 4, "--lyap-steps", 5_000, "--no-plot", "-q", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "ngrc" and m["dt"] is None
    # The map's increments are quadratic in the state: the unregularised fit is exact and
    # the search prefers it.
    assert m["search"]["best"] == 0 and m["ridge"] == 0.0
    assert m["features"] == ["1", "x(t)", "y(t)", "x(t)^2", "x(t) y(t)", "y(t)^2"]
    learned = m["lyapunov_exponents"]["learned"]
    assert abs(sum(learned) - np.log(0.3)) < 1e-6
    assert m["lyapunov_exponents"]["unit"] == "per iteration"
    model = cj.learn.load(out / "model.eqx")
    assert isinstance(model, cj.learn.NGRC) and not (out / "exponents.png").exists()


def test_reservoir_bad_options_name_the_option(tmp_path):
    assert_user_error(invoke("learn", "esn", "lorenz63", "--leak", 2, "--out", tmp_path), "--leak")
    assert_user_error(
        invoke("learn", "esn", "lorenz63", "--features", "cubic", "--out", tmp_path), "--features"
    )
    assert_user_error(
        invoke("learn", "esn", "lorenz63", "--spectral-radius", 0, "--out", tmp_path),
        "--spectral-radius",
    )
    assert_user_error(invoke("learn", "ngrc", "henon", "--lags", 0, "--out", tmp_path), "--lags")
    assert_user_error(invoke("learn", "ngrc", "henon", "--ridge", -1, "--out", tmp_path), "--ridge")
    assert_user_error(invoke("learn", "ngrc", "henon", "--dt", 0.1, "--out", tmp_path), "--dt")
    assert_user_error(invoke("learn", "esn", "--out", tmp_path), "SYSTEM", "--data")


def model_vocab(out):
    return cj.learn.load(out / "model.eqx").config.vocab_size


@pytest.mark.slow  # the default suite's time budget; other tests cover the parts
def test_transformer_writes_model_tokenizer_metrics_and_figures(tmp_path):
    out = tmp_path / "tf"
    result = invoke(
        "learn", "transformer", "henon", "--grid", 30, "--trajectories", 4,
        "--test-trajectories", 2, "--length", 400, "--layers", 1, "--width", 32,
        "--context", 32, "--steps", 100, "-q", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("model.eqx", "tokenizer.eqx", "metrics.json", "loss.png", "generated_vs_true.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "transformer" and m["grid"] == 30
    tok = cj.learn.load(out / "tokenizer.eqx")  # the visited cells only, by default
    assert m["vocabulary"] == tok.vocab_size == model_vocab(out) < 30**2
    w = m["wasserstein"]
    assert w["temperatures"] == [1.0, 0.0] and w["true_halves"] > 0
    assert np.allclose(np.asarray(w["ratio"]), np.asarray(w["generated"]) / w["true_halves"])
    # The control: true continuations at cube centres of a 30-cell grid.
    assert 0.3 < m["largest_exponent"]["true_cube_centres"] < 0.5
    model = cj.learn.load(out / "model.eqx")
    assert model.n_params == m["n_params"]


def test_transformer_bad_options_name_the_option(tmp_path):
    result = invoke("learn", "transformer", "henon", "--grid", 0, "--out", tmp_path / "x")
    assert_user_error(result, "--grid")
    result = invoke("learn", "transformer", "--out", tmp_path / "x")
    assert_user_error(result, "system")
