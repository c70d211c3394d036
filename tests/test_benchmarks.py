"""The benchmark scripts behind `make bench`: every one is run by benchmarks/run_all.py (or
listed as not run, with the reason), takes `--markdown FILE` (and `--quick`), and answers
`--help`."""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


def _run_all():
    spec = importlib.util.spec_from_file_location("run_all", BENCH / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(script: pathlib.Path) -> set[str]:
    """The option strings of the script's `add_argument` calls, read from its source."""
    found = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_run_all_runs_or_names_every_script():
    run_all = _run_all()
    listed = [name for name, _ in run_all.SCRIPTS] + list(run_all.NOT_RUN)
    assert sorted(listed) == sorted(p.name for p in SCRIPTS)
    assert len(set(listed)) == len(listed)


def test_every_script_takes_markdown_and_quick():
    run_all = _run_all()
    run = {name for name, _ in run_all.SCRIPTS}
    for script in SCRIPTS:
        if script.name == "run_all.py":
            continue
        options = _options(script)
        assert "--markdown" in options, script.name
        if script.name in run:
            assert "--quick" in options, script.name
            # the full run's arguments are options the script knows
            for arg in dict(run_all.SCRIPTS)[script.name]:
                assert not arg.startswith("--") or arg in options, (script.name, arg)


def test_run_all_titles_come_from_the_docstrings():
    run_all = _run_all()
    assert run_all.title(BENCH / "ensemble.py").startswith("Ensemble and single-trajectory")


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_answers_help(script):
    res = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=BENCH, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert ("--out" if script.name == "run_all.py" else "--markdown") in res.stdout


@pytest.mark.slow
def test_run_all_writes_results(tmp_path):
    out = tmp_path / "RESULTS.md"
    res = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", "bifurcation"]
        + ["gpu_ensemble", "--out", str(out)],
        cwd=BENCH,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Benchmark results")
    assert "## Bifurcation sweeps against numba" in text
    assert "| chaosjax `cj.orbit_diagram` |" in text
    # no accelerator here: reported as skipped; with one, its tables are there
    assert "Skipped here" in text or "trajectory-steps" in text
