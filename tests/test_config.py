"""The precision policy: importing chaosjax leaves JAX's configuration alone; float32
use warns once; `cj.enable_x64()` and the command line turn float64 on."""

import os
import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_ENABLE_X64", "CHAOSJAX_X64")}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return out.stdout.strip()


def test_import_leaves_jax_config_alone_and_float32_warns_once():
    out = _run(
        """
        import warnings
        import jax
        import chaosjax as cj
        print(jax.config.read("jax_enable_x64"))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            xs = cj.trajectory(cj.systems.Henon(), [0.1, 0.1], steps=10)
            cj.trajectory(cj.systems.Henon(), [0.1, 0.1], steps=10)
        print(xs.dtype, sum(issubclass(x.category, cj.PrecisionWarning) for x in w))
        """
    )
    assert out.splitlines() == ["False", "float32 1"]


def test_enable_x64_gives_float64_without_a_warning():
    out = _run(
        """
        import warnings
        import chaosjax as cj
        cj.enable_x64()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            xs = cj.trajectory(cj.systems.Henon(), [0.1, 0.1], steps=10)
        print(xs.dtype, cj.x64_enabled())
        """
    )
    assert out == "float64 True"


def test_command_line_runs_in_float64():
    out = _run(
        """
        import jax
        from typer.testing import CliRunner
        from chaosjax.cli import app
        res = CliRunner().invoke(app, ["systems"])
        print(res.exit_code, jax.config.read("jax_enable_x64"))
        """
    )
    assert out == "0 True"
