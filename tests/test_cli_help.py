"""`chaosjax --help` lists the commands without importing JAX or any command module."""

import importlib
import inspect
import subprocess
import sys

import pytest

app_module = importlib.import_module("chaosjax.cli.app")


def test_help_imports_neither_jax_nor_a_command():
    code = (
        "import sys, chaosjax.cli\n"
        "from typer.testing import CliRunner\n"
        "out = CliRunner().invoke(chaosjax.cli.app, ['--help'])\n"
        "assert out.exit_code == 0, out.output\n"
        "assert 'lyapunov' in out.output and 'evaluate' in out.output, out.output\n"
        "heavy = [m for m in ('jax', 'numpy', 'matplotlib', 'xarray', 'chaosjax.cli.lyapunov',"
        " 'chaosjax.cli.learn', 'chaosjax.lyapunov') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", list(app_module.COMMANDS))
def test_listed_help_is_the_command_s_own(name):
    cmd = app_module.load_command(name)
    if name == "learn":
        own = cmd.help
    else:
        own = inspect.getdoc(cmd.callback).split("\n\n")[0]  # type: ignore[union-attr]
    assert " ".join(app_module.COMMANDS[name][1].split()) == " ".join((own or "").split())
    assert cmd.name == name
