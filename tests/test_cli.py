"""The `chaosjax` command line: every command, its help, and its user errors."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax.cli import app

runner = CliRunner()


def invoke(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], prog_name="chaosjax", **kwargs)


def assert_user_error(result, *fragments):
    """A user error: exit status 2, a one-line message naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = result.stderr.lower()
    for fragment in fragments:
        assert fragment.lower() in text, result.stderr


# --------------------------------------------------------------------------- basics


def test_version_and_help_with_examples_on_every_command():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"chaosjax {cj.__version__}"
    top = invoke("--help")
    assert top.exit_code == 0
    for command in ("systems", "simulate", "lyapunov", "sensitivity", "bifurcation", "report"):
        assert command in top.output
        result = invoke(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Examples" in result.output and f"chaosjax {command}" in result.output


def test_no_arguments_shows_help():
    result = invoke()
    assert "Usage" in result.output and "simulate" in result.output


def test_shell_completion_of_system_names():
    env = {
        "_CHAOSJAX_COMPLETE": "complete_bash",
        "COMP_WORDS": "chaosjax simulate lor",
        "COMP_CWORD": "2",
    }
    result = invoke(env=env)
    assert result.exit_code == 0
    assert result.output.split() == ["lorenz63", "lorenz96"]
    # The shell named explicitly (typer detects it from the parent process otherwise,
    # which fails when the tests run without a terminal).
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = subprocess.run(
        [sys.executable, "-m", "chaosjax", "--show-completion", "bash"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert script.returncode == 0 and "_CHAOSJAX_COMPLETE" in script.stdout, script.stderr


def test_python_dash_m_chaosjax_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "chaosjax", "--version"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and out.stdout.strip() == f"chaosjax {cj.__version__}"


def test_systems_table_and_json():
    result = invoke("systems")
    assert result.exit_code == 0
    for name in ("lorenz63", "henon", "logistic"):
        assert name in result.output
    assert "0.9056" in result.output  # Lorenz63's reference exponent
    rows = json.loads(invoke("systems", "--json").output)
    assert [r["name"] for r in rows] == cj.systems.catalog()
    lor = next(r for r in rows if r["name"] == "lorenz63")
    assert lor["kind"] == "flow" and lor["dim"] == 3 and lor["parameters"]["rho"] == 28.0
    assert lor["reference_exponents"][0] == pytest.approx(0.9056)
    assert lor["variables"] == ["x", "y", "z"] and lor["units"] == ["1", "1", "1"]
    assert "convection" in lor["description"] and "Lorenz (1963)" in lor["source"]
    assert "x, y, z (3)" in result.output


# --------------------------------------------------------------------------- simulate


def test_simulate_writes_a_trajectory_with_overrides(tmp_path):
    out = tmp_path / "run.nc"
    result = invoke(
        "simulate",
        "lorenz63",
        "--param",
        "rho=30",
        "-p",
        "sigma=11",
        "--steps",
        200,
        "--dt",
        0.01,
        "--transient",
        10,
        "--save-every",
        2,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    ds = cj.io.load(out)
    assert ds["state"].shape == (101, 3)
    assert ds.attrs["parameter_rho"] == 30.0 and ds.attrs["parameter_sigma"] == 11.0
    assert ds.attrs["dt"] == 0.01 and ds.attrs["solver"] == "rk4"
    # The same numbers as the library call.
    xs = cj.trajectory(
        cj.systems.Lorenz63(rho=30.0, sigma=11.0),
        cj.systems.Lorenz63().default_state(),
        steps=200,
        dt=0.01,
        transient=10,
        save_every=2,
    )
    np.testing.assert_allclose(ds["state"].values, np.asarray(xs), rtol=1e-12)


def test_simulate_t_final_and_a_map(tmp_path):
    result = invoke(
        "simulate", "lorenz63", "--t-final", 1.0, "--dt", 0.01, "-q", "--out", tmp_path / "a.nc"
    )
    assert result.exit_code == 0 and result.output == ""  # --quiet prints nothing
    a = cj.io.load(tmp_path / "a.nc")
    assert a["state"].shape == (101, 3)
    np.testing.assert_allclose(a["time"].values[[0, -1]], [0.0, 1.0], rtol=0, atol=1e-12)
    result = invoke(
        "simulate", "henon", "--steps", 50, "--x0", "0.1,0.1", "--out", tmp_path / "h.nc"
    )
    assert result.exit_code == 0, result.output
    ds = cj.io.load(tmp_path / "h.nc")
    assert ds["time"].attrs["units"] == "1" and ds["state"].shape == (51, 2)
    assert list(ds["variable"].values) == ["x", "y"]  # Hénon's (1976) names
    np.testing.assert_allclose(ds["state"].values[0], [0.1, 0.1])


def test_simulate_ensemble_statistics(tmp_path):
    out = tmp_path / "ens.nc"
    result = invoke(
        "simulate",
        "lorenz63",
        "--ensemble",
        8,
        "--steps",
        400,
        "--transient",
        100,
        "--dt",
        0.01,
        "--trajectories",
        "--save-every",
        4,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    ds = cj.io.load(out)
    assert ds["time_average"].dims == ("member", "variable")
    # The printed table names Lorenz's variables, not indices.
    rows = [line.split() for line in result.output.splitlines()]
    assert [r[1] for r in rows if len(r) > 2 and r[1] in ("x", "y", "z")] == ["x", "y", "z"]
    assert ds["state"].shape == (8, 101, 3)
    np.testing.assert_allclose(ds["mean"].values, ds["time_average"].values.mean(0))
    np.testing.assert_allclose(ds["std"].values, ds["time_average"].values.std(0, ddof=1))
    # The last running average is the time average over all the steps.
    np.testing.assert_allclose(ds["cumulative_average"].values[:, -1, :], ds["time_average"].values)
    assert ds.attrs["members"] == 8 and ds.attrs["seed"] == 0


def test_simulate_to_zarr(tmp_path):
    if not cj.io.zarr_available():
        result = invoke("simulate", "lorenz63", "--steps", 10, "--out", tmp_path / "r.zarr")
        assert_user_error(result, "zarr")
        return
    result = invoke(
        "simulate", "lorenz63", "--steps", 40, "--dt", 0.01, "--out", tmp_path / "r.zarr", "-q"
    )
    assert result.exit_code == 0, result.output
    assert cj.io.load(tmp_path / "r.zarr")["state"].shape == (41, 3)


def test_simulate_user_file_system(tmp_path):
    path = tmp_path / "my_system.py"
    path.write_text(
        textwrap.dedent("""
        import jax.numpy as jnp
        import chaosjax as cj

        class Decay(cj.Flow):
            k: float = cj.systems.param(0.5)
            def vector_field(self, x):
                return -self.k * x
            def default_state(self):
                return jnp.ones(2)
    """)
    )
    out = tmp_path / "decay.nc"
    result = invoke(
        "simulate",
        "--system-file",
        f"{path}:Decay",
        "--param",
        "k=1.0",
        "--steps",
        100,
        "--dt",
        0.01,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    ds = cj.io.load(out)
    # RK4 at dt = 0.01 on x' = -x: x(1) = exp(-1) to ~1e-10.
    np.testing.assert_allclose(ds["state"].values[-1], np.exp(-1.0), rtol=1e-8)
    assert ds.attrs["system"] == "Decay"
    result = invoke("simulate", "--system-file", f"{path}:Decya", "--out", out)
    assert_user_error(result, "no class 'Decya'", "did you mean 'decay'")
    result = invoke("simulate", "--system-file", f"{path}", "--out", out)
    assert_user_error(result, "path.py:ClassName")
    result = invoke("simulate", "--system-file", f"{tmp_path}/none.py:X", "--out", out)
    assert_user_error(result, "no such file")


def test_dt_defaults_to_the_systems_own_step(tmp_path):
    # Without --dt a flow steps with its own default_dt (dysts-style), an explicit --dt
    # wins, and a flow without one (a user's file) takes 0.005.
    assert cj.systems.get("thomas").default_dt == 0.05
    out = tmp_path / "thomas.nc"
    assert invoke("simulate", "thomas", "--steps", 10, "-q", "--out", out).exit_code == 0
    ds = cj.io.load(out)
    assert ds.attrs["dt"] == 0.05
    np.testing.assert_allclose(ds["time"].values[-1], 0.5, rtol=1e-12)
    out = tmp_path / "explicit.nc"
    assert invoke("simulate", "thomas", "--steps", 10, "--dt", 0.001, "--out", out).exit_code == 0
    assert cj.io.load(out).attrs["dt"] == 0.001
    out = tmp_path / "lyap.nc"
    result = invoke("lyapunov", "rossler", "--steps", 200, "-q", "--out", out, "--no-plot")
    assert result.exit_code == 0, result.output
    assert cj.io.load(out).attrs["dt"] == 0.02
    path = tmp_path / "plain.py"
    path.write_text(
        textwrap.dedent("""
        import jax.numpy as jnp
        import chaosjax as cj

        class Plain(cj.Flow):
            def vector_field(self, x):
                return -x
            def default_state(self):
                return jnp.ones(1)
    """)
    )
    out = tmp_path / "plain.nc"
    result = invoke("simulate", "--system-file", f"{path}:Plain", "--steps", 10, "--out", out)
    assert result.exit_code == 0, result.output
    assert cj.io.load(out).attrs["dt"] == 0.005


# --------------------------------------------------------------------------- user errors


def test_unknown_system_lists_close_matches(tmp_path):
    result = invoke("simulate", "lorenz36", "--out", tmp_path / "x.nc")
    assert_user_error(result, "lorenz36", "did you mean", "lorenz63")
    assert not (tmp_path / "x.nc").exists()
    result = invoke("lyapunov", "henonn")
    assert_user_error(result, "did you mean", "henon")


@pytest.mark.parametrize("entry", ["rho", "rho=", "rho=abc", "=3", "rho:30"])
def test_malformed_param_names_the_expected_form(tmp_path, entry):
    result = invoke("simulate", "lorenz63", "--param", entry, "--out", tmp_path / "x.nc")
    assert_user_error(result, "name=value")


def test_unknown_parameter_name(tmp_path):
    result = invoke("simulate", "lorenz63", "--param", "rh=30", "--out", tmp_path / "x.nc")
    assert_user_error(result, "'rh'", "did you mean 'rho'")
    # The known parameters are the parameters: no class metadata (dim, name, ...).
    assert "Known: beta, rho, sigma." in " ".join(result.stderr.split())


@pytest.mark.parametrize("entry", ["dim=5", "name=3", "reference_exponents=1"])
def test_class_metadata_is_not_a_parameter(tmp_path, entry):
    result = invoke("simulate", "lorenz63", "--param", entry, "--out", tmp_path / "x.nc")
    assert_user_error(result, f"`{entry.split('=')[0]}` is not a parameter of Lorenz63")
    assert "beta, rho, sigma" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and not (tmp_path / "x.nc").exists()


def test_unwritable_out_says_so(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = invoke("simulate", "lorenz63", "--steps", 10, "--out", blocker / "run.nc")
    assert_user_error(result, "--out", "cannot be written")
    result = invoke("simulate", "lorenz63", "--steps", 10, "--out", tmp_path / "run.txt")
    assert_user_error(result, "--out", ".nc")
    result = invoke("report", "--out", blocker / "report", "--sections", "system")
    assert_user_error(result, "--out", "not a writable directory")


def test_other_option_errors(tmp_path):
    out = tmp_path / "x.nc"
    assert_user_error(invoke("simulate", "henon", "--dt", 0.1, "--out", out), "flows only")
    assert_user_error(
        invoke("simulate", "lorenz63", "--steps", 10, "--t-final", 1, "--out", out), "not both"
    )
    assert_user_error(
        invoke("simulate", "lorenz63", "--steps", 10, "--save-every", 3, "--out", out),
        "--save-every",
    )
    assert_user_error(invoke("simulate", "lorenz63", "--dt", -0.1, "--out", out), "--dt")
    assert_user_error(invoke("simulate", "lorenz63", "--x0", "1,2", "--out", out), "--x0")
    assert_user_error(
        invoke("simulate", "lorenz63", "--solver", "rk5", "--steps", 10, "--out", out),
        "solver",
        "rk4",
    )
    assert_user_error(invoke("simulate", "--out", out), "SYSTEM")
    assert_user_error(
        invoke("bifurcation", "logistic", "--param", "r", "--range", "2.5:4"), "START:STOP:NUM"
    )
    assert_user_error(
        invoke("sensitivity", "lorenz63", "--param", "rho", "--method", "fd"), "--method"
    )


def test_divergence_is_reported_as_a_failure_not_a_traceback(tmp_path):
    result = invoke(
        "simulate", "logistic", "--param", "r=4.5", "--steps", 100, "--out", tmp_path / "x.nc"
    )
    assert result.exit_code == 1, result.output
    assert "diverged" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "x.nc").exists()


# --------------------------------------------------------------------------- analyses


def test_lyapunov_command(tmp_path):
    if not hasattr(cj, "lyapunov_spectrum"):
        pytest.skip("cj.lyapunov_spectrum is not in this build")
    out, png = tmp_path / "l.nc", tmp_path / "l.png"
    result = invoke("lyapunov", "henon", "--steps", 10_000, "--out", out, "--plot", png)
    assert result.exit_code == 0, result.output
    ds = cj.io.load(out)
    # Henon: (0.41922, -1.62319); 1e4 steps land within ~1e-2; the sum is log b exactly.
    np.testing.assert_allclose(ds["exponents"].values, [0.41922, -1.62319], atol=2e-2)
    assert ds["exponents"].values.sum() == pytest.approx(np.log(0.3), abs=1e-9)
    assert float(ds["kaplan_yorke_dimension"]) == pytest.approx(1.258, abs=0.02)
    assert png.stat().st_size > 5_000
    assert "Kaplan-Yorke" in result.output


def test_sensitivity_command(tmp_path):
    out, png = tmp_path / "s.nc", tmp_path / "s.png"
    result = invoke(
        "sensitivity",
        "lorenz63",
        "--param",
        "rho",
        "--method",
        "autodiff",
        "--horizons",
        "0.5,1,10",
        "--members",
        6,
        "--out",
        out,
        "--plot",
        png,
    )
    assert result.exit_code == 0, result.output
    ds = cj.io.load(out)
    assert ds["gradient"].shape == (3, 6) and ds.attrs["parameter"] == "rho"
    # Short horizons: d<z>_T/drho near 1; at T = 10 the spread has blown up.
    assert 0.3 < float(ds["mean"][0]) < 2.0
    assert float(ds["std"][2]) > 10 * float(ds["std"][0])
    assert png.stat().st_size > 5_000


def test_sensitivity_command_s3(tmp_path):
    out = tmp_path / "s3.nc"
    result = invoke(
        "sensitivity",
        "lorenz63",
        "--param",
        "rho",
        "--method",
        "s3",
        "--steps",
        400_000,
        "--segments",
        4,
        "--out",
        out,
        "--no-plot",
    )
    assert result.exit_code == 0, result.output
    assert "Linear response (S3)" in result.output
    ds = cj.io.load(out)
    assert ds.attrs["method"] == "s3" and ds["shadowing_estimates"].shape == (4,)
    # d<z>/drho at rho = 28 is 1.0005 +- 0.0012 by finite differences.
    assert 0.95 < float(ds["shadowing_derivative"]) < 1.05
    np.testing.assert_allclose(float(ds["s3_parts"].sum()), float(ds["shadowing_derivative"]))


def test_sensitivity_wrt_and_bare_param_must_agree():
    result = invoke("sensitivity", "lorenz63", "--param", "rho", "--wrt", "sigma")
    assert_user_error(result, "one parameter")


def test_bifurcation_command(tmp_path):
    out, png = tmp_path / "b.nc", tmp_path / "b.png"
    result = invoke(
        "bifurcation",
        "logistic",
        "--param",
        "r",
        "--range",
        "2.8:3.2:5",
        "--keep",
        16,
        "--out",
        out,
        "--plot",
        png,
    )
    assert result.exit_code == 0, result.output
    ds = cj.io.load(out)
    assert ds["points"].dims == ("r", "point", "variable")  # the swept parameter by name
    np.testing.assert_allclose(ds["r"].values, np.linspace(2.8, 3.2, 5))
    pts = ds["points"].values[..., 0]
    # r = 2.8: the fixed point 1 - 1/r; r = 3.2: a 2-cycle.
    np.testing.assert_allclose(pts[0], 1 - 1 / 2.8, atol=1e-6)
    assert len(np.unique(np.round(pts[-1], 6))) == 2
    assert png.stat().st_size > 5_000


# --------------------------------------------------------------------------- interruption


def _spawn(out, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaosjax",
            "simulate",
            "lorenz63",
            "--ensemble",
            "32",
            "--steps",
            "20000000",
            "--dt",
            "0.005",
            "--out",
            str(out),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_interrupted_ensemble_keeps_the_previous_file(tmp_path):
    """Ctrl-C (SIGINT) and a hard kill (SIGKILL) mid-run, side by side: each output is
    still the previous file, complete, and no temporary file is left."""
    outs = {}
    for sig in (signal.SIGINT, signal.SIGKILL):
        out = tmp_path / f"ens_{sig.name}.nc"
        result = invoke(
            "simulate",
            "lorenz63",
            "--ensemble",
            4,
            "--steps",
            100,
            "--dt",
            0.01,
            "--out",
            out,
            "-q",
        )
        assert result.exit_code == 0, result.output
        outs[sig] = (out, out.read_bytes(), _spawn(out))
    try:
        for sig, (out, before, proc) in outs.items():
            first = proc.stdout.readline()  # printed once the work starts
            assert "Simulating 32 members" in first, first
        time.sleep(1.0)
        for sig, (out, before, proc) in outs.items():
            assert proc.poll() is None, "the run ended before it could be interrupted"
            proc.send_signal(sig)
        for sig, (out, before, proc) in outs.items():
            output, _ = proc.communicate(timeout=60)
            if sig == signal.SIGINT:
                assert proc.returncode == 130, output
                assert "Interrupted" in output and "unchanged" in output
                assert "Traceback" not in output
            else:
                assert proc.returncode == -signal.SIGKILL
            # Either the previous file or a complete new one: here the run never finished.
            assert out.read_bytes() == before
            assert cj.io.load(out).attrs["members"] == 4
    finally:
        for _, _, proc in outs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_doctor_reports_the_native_backend():
    out = runner.invoke(app, ["doctor", "--json", "--no-run"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["C flags"].startswith("-O3") and "kernel cache" in report
    assert "native, eager" not in report  # --no-run
