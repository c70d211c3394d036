"""Every command writes where it is told: run from an empty working directory with
--out elsewhere, none leaves a file behind there; figures go beside --out; progress
bars show on a terminal only."""

import json

import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax.cli import app
from chaosjax.cli.app import COMMANDS

runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], prog_name="chaosjax", env=env)


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd, tmp_path / "elsewhere"


@pytest.mark.slow
def test_commands_write_nothing_into_the_working_directory(empty_cwd):
    cwd, there = empty_cwd
    runs = {
        "systems": ("systems",),
        "simulate": ("simulate", "henon", "--steps", 100, "--out", there / "s.nc", "-q"),
        "lyapunov": ("lyapunov", "henon", "--steps", 2_000, "--out", there / "l.nc", "-q"),
        "sensitivity": (
            "sensitivity", "henon", "--param", "a", "--method", "autodiff", "--horizons",
            "5,10", "--members", 4, "--out", there / "sens.nc", "-q",
        ),
        "bifurcation": (
            "bifurcation", "logistic", "--param", "r", "--range", "2.8:3.2:5", "--keep", 8,
            "--out", there / "b.nc", "-q",
        ),
        "report": ("report", "henon", "--sections", "system,timings", "--out", there / "r", "-q"),
        "doctor": ("doctor",),
    }  # fmt: skip
    # learn and evaluate train a model first: in the slow test below.
    assert set(runs) | {"learn", "evaluate"} == set(COMMANDS)
    for name, args in runs.items():
        result = invoke(*args)
        assert result.exit_code == 0, (name, result.output)
        assert list(cwd.iterdir()) == [], name
    # Without --plot, each figure goes beside its --out file.
    for stem in ("l", "sens", "b"):
        assert (there / f"{stem}.png").stat().st_size > 5_000, stem
    assert (there / "r" / "index.html").is_file()
    # The demo too, given --out.
    from chaosjax import demo

    with pytest.raises(SystemExit) as done:
        demo.main(["henon", "--sections", "system", "--out", str(there / "demo"), "-q"])
    assert done.value.code == 0
    assert (there / "demo" / "index.html").is_file() and list(cwd.iterdir()) == []


@pytest.mark.slow
def test_learn_and_evaluate_write_nothing_into_the_working_directory(empty_cwd):
    cwd, there = empty_cwd
    result = invoke(
        "learn", "sindy", "lorenz63", "--points", 2_000, "--lyap-steps", 500, "-q",
        "--out", there / "sindy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (there / "sindy" / "metrics.json").is_file() and list(cwd.iterdir()) == []
    result = invoke(
        "evaluate", there / "sindy", "--truth", "lorenz63", "--starts", 2, "--runs", 2,
        "--run-steps", 2_500, "--spectrum-steps", 500, "--dt", 0.01, "-q", "--out",
        there / "verdict",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (there / "verdict" / "verdict.nc").is_file() and list(cwd.iterdir()) == []


def test_default_output_locations_are_documented():
    """Where nothing is given, the help says where files go."""
    assert "./out" in invoke("report", "--help").output
    for command in ("lyapunov", "sensitivity", "bifurcation"):
        text = " ".join(invoke(command, "--help").output.split())
        assert "beside --out" in text and "working directory" in text, command


def test_progress_bars_on_a_terminal_only(empty_cwd):
    cwd, there = empty_cwd
    args = ("bifurcation", "logistic", "--param", "r", "--range", "2.8:3.2:5", "--keep", 8)
    args += ("--out", there / "b.nc")
    # FORCE_COLOR makes rich treat the output as a terminal.
    shown = invoke(*args, env={"FORCE_COLOR": "1"})
    assert shown.exit_code == 0, shown.output
    assert "orbit diagram over r" in shown.output and "5/5" in shown.output
    piped = invoke(*args)
    assert piped.exit_code == 0 and "orbit diagram over r" not in piped.output
    assert "Orbit diagram of logistic" in piped.output  # the summary line stays
    quiet = invoke(*args, "-q", env={"FORCE_COLOR": "1"})
    assert quiet.exit_code == 0 and quiet.output == ""
    ds = cj.io.load(there / "b.nc")
    assert ds["points"].shape[0] == 5
    # The figure went beside --out, nothing into the working directory.
    assert (there / "b.png").stat().st_size > 5_000 and list(cwd.iterdir()) == []


def test_a_user_system_keeps_its_provenance(tmp_path):
    (tmp_path / "spiral.py").write_text(
        "import jax.numpy as jnp\n"
        "import chaosjax as cj\n\n"
        "class Spiral(cj.Flow):\n"
        "    a: float = cj.systems.param(-0.5)\n"
        "    def vector_field(self, x):\n"
        "        return jnp.stack([self.a * x[0] - x[1], x[0] + self.a * x[1]])\n"
        "    def default_state(self):\n"
        "        return jnp.array([1.0, 0.0])\n"
    )
    import hashlib

    digest = hashlib.sha256((tmp_path / "spiral.py").read_bytes()).hexdigest()
    spec = f"{tmp_path / 'spiral.py'}:Spiral"
    result = invoke(
        "report", "--system-file", spec, "--sections", "system", "--out", tmp_path / "r", "-q"
    )
    assert result.exit_code == 0, result.output
    attrs = cj.io.load(tmp_path / "r" / "results.nc").attrs
    assert attrs["system"] == "Spiral" and attrs["system_file_sha256"] == digest
    assert attrs["system_class"] == f"{tmp_path / 'spiral.py'}:Spiral"
    res = json.loads((tmp_path / "r" / "results.json").read_text())
    assert res["config"]["system_file"] == spec and res["strings"]["system_file_sha256"] == digest
    assert digest in (tmp_path / "r" / "index.html").read_text()
    result = invoke("simulate", "--system-file", spec, "--steps", 50, "--out", tmp_path / "s.nc")
    assert result.exit_code == 0, result.output
    assert cj.io.load(tmp_path / "s.nc").attrs["system_file_sha256"] == digest
