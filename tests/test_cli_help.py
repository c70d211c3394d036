"""`chaosjax --help` and `chaosjax learn --help` list the commands without importing JAX
or any command module."""

import importlib
import inspect
import subprocess
import sys

import pytest

app_module = importlib.import_module("chaosjax.cli.app")
learn_module = importlib.import_module("chaosjax.cli.learn")


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


_LEARN_HELP = (
    "import sys, time\n"
    "t0 = time.process_time()\n"
    "import chaosjax.cli\n"
    "from typer.testing import CliRunner\n"
    "out = CliRunner().invoke(chaosjax.cli.app, {args!r})\n"
    "seconds = time.process_time() - t0\n"
    "assert out.exit_code in (0, 2), out.output  # 2: `learn` alone, as click does\n"
    "assert 'delay-mlp' in out.output and 'transformer' in out.output, out.output\n"
    "heavy = [m for m in sys.modules if m.split('.')[0] in ('jax', 'numpy', 'matplotlib')"
    " or m.startswith(('chaosjax.cli.learn.', 'chaosjax.learn', 'chaosjax.report'))]\n"
    "print(seconds, heavy)\n"
)


@pytest.mark.parametrize("args", [["learn", "--help"], ["learn"]])
def test_learn_help_imports_neither_jax_nor_a_subcommand(args):
    # The subcommands list from `SUBCOMMANDS`; float64 mode (and so JAX) is set up only
    # for a command that runs. CPU seconds of the import and the help (the wall time
    # follows them on an idle machine), best of two runs.
    times = []
    for _ in range(2):
        code = _LEARN_HELP.format(args=args)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        seconds, heavy = out.stdout.strip().split(" ", 1)
        assert heavy == "[]"
        times.append(float(seconds))
    assert min(times) < 0.5, times


@pytest.mark.parametrize("name", list(learn_module.SUBCOMMANDS))
def test_listed_learn_help_is_the_subcommand_s_own(name):
    cmd = learn_module.load_subcommand(name)
    own = inspect.getdoc(cmd.callback).split("\n\n")[0]
    assert " ".join(learn_module.SUBCOMMANDS[name][1].split()) == " ".join(own.split())
    assert cmd.name == name
    # The subcommand's own help is the real one, with its options and examples.
    assert "--out" in {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert "Examples:" in (cmd.epilog or "")


def test_a_command_that_runs_computes_in_float64(tmp_path):
    code = (
        "import chaosjax.cli, jax\n"
        "from typer.testing import CliRunner\n"
        "out = CliRunner().invoke(chaosjax.cli.app, ['systems'])\n"
        "assert out.exit_code == 0, out.output\n"
        "print(jax.config.jax_enable_x64)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"
