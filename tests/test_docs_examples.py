"""The code in the README and the docs runs as pasted, and prints what the docs show.

Each page's Python blocks run in order in one namespace (a reader pastes them into one
interpreter), in a temporary working directory. A block preceded by the comment line
`<!-- not run: <reason> -->` is skipped (long trainings, a cluster). A fenced block
that follows a Python block under a line starting with "Output" is what that block
prints: the test compares it line by line, text exactly and numbers to 5 % (on another
machine a long chaotic run follows another orbit once rounding differs: its extremes
and averages move by a few per cent at most), and a last line `ValueError: ...` is the
error the block's last statement raises.

The README's tour and the getting-started page run in the default suite; the README's
other sections and the longer pages are slow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_NOT_RUN = re.compile(r"<!-- not run: [^>]+ -->\s*$")
_SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::(\w+))?"\s*$', re.M)
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@dataclasses.dataclass
class Block:
    code: str
    line: int
    run: bool
    output: str | None


def _include(text: str) -> str:
    """The page with pymdownx.snippets includes (`--8<-- "README.md:tour"`) resolved."""

    def one(m: re.Match[str]) -> str:
        included = (ROOT / m[1]).read_text()
        if m[2]:
            start = included.index(f"[start:{m[2]}]")
            start = included.index("\n", start) + 1
            end = included.rindex("\n", 0, included.index(f"[end:{m[2]}]"))
            included = included[start:end]
        return included

    return _SNIPPET.sub(one, text)


def blocks(text: str) -> list[Block]:
    """The Python blocks of a Markdown page, each with its expected output if shown."""
    fences = list(_FENCE.finditer(text))
    found = []
    for i, m in enumerate(fences):
        if m[1] != "python":
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        output = None
        if i + 1 < len(fences) and fences[i + 1][1] in ("", "text"):
            between = text[m.end() : fences[i + 1].start()].strip()
            if between.startswith("Output") and "\n\n" not in between:
                output = fences[i + 1][2]
        line = text.count("\n", 0, m.start()) + 1
        found.append(Block(m[2], line, not _NOT_RUN.search(before), output))
    return found


def _same_line(expected: str, actual: str) -> bool:
    if _NUMBER.sub("#", expected).split() != _NUMBER.sub("#", actual).split():
        return False
    want = [float(x) for x in _NUMBER.findall(expected)]
    got = [float(x) for x in _NUMBER.findall(actual)]
    return all(abs(a - b) <= 0.05 * abs(b) + 2e-3 for a, b in zip(got, want, strict=True))


def check_output(expected: str, actual: str, where: str) -> None:
    want = [w for w in expected.splitlines() if w.strip()]
    got = [g for g in actual.splitlines() if g.strip()]
    assert len(want) == len(got), f"{where}: the docs show\n{expected}\nit prints\n{actual}"
    for w, g in zip(want, got, strict=True):
        assert _same_line(w, g), f"{where}: the docs show\n  {w}\nit prints\n  {g}"


def run_page(text: str, name: str) -> dict[str, object]:
    """Run every block of a page in one namespace; returns the namespace."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    ran = 0
    for b in blocks(_include(text)):
        if not b.run:
            continue
        where = f"{name}, the block at line {b.line}"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(b.code, where, "exec"), namespace)
            except Exception as e:
                shown = (b.output or "").strip().splitlines()
                if not shown or not shown[-1].startswith(f"{type(e).__name__}: "):
                    raise AssertionError(f"{where} raised {type(e).__name__}: {e}") from e
                print(f"{type(e).__name__}: {e}")
        if b.output is not None:
            check_output(b.output, out.getvalue(), where)
        ran += 1
    assert ran > 0, name
    return namespace


def _sections(text: str, *, tour: bool) -> str:
    """The README's tour (between its snippet markers), or everything but the tour."""
    start, end = text.index("[start:tour]"), text.index("[end:tour]")
    return text[start:end] if tour else text[:start] + text[end:]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # Blocks that write files write them here; figures go to the Agg backend, and the
    # backend the process had is restored after.
    monkeypatch.chdir(tmp_path)
    plt = pytest.importorskip("matplotlib.pyplot")
    backend = plt.get_backend()
    plt.switch_backend("Agg")
    yield
    plt.close("all")
    plt.switch_backend(backend)


def test_the_getting_started_page_with_the_readme_tour_runs_as_pasted():
    # The page includes the README's tour, so this runs the tour and checks its output.
    page = (ROOT / "docs" / "getting-started.md").read_text()
    tour = _sections((ROOT / "README.md").read_text(), tour=True)
    tour_code = blocks(tour)[0].code
    assert tour_code in _include(page)
    ns = run_page(page, "docs/getting-started.md")
    assert ns["xs"].shape == (20001, 3)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_every_readme_block_runs_as_pasted():
    text = (ROOT / "README.md").read_text()
    ns = run_page(text, "README.md")
    assert sum(not b.run for b in blocks(text)) <= 3  # the cluster, the longer trainings
    assert float(ns["lss"].derivative) == pytest.approx(1.01, abs=0.02)  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("page", ["own-system.md", "plotting.md", "file-formats.md"])
def test_every_block_of_a_guide_runs_as_pasted(page):
    run_page((ROOT / "docs" / page).read_text(), f"docs/{page}")


@pytest.mark.slow
def test_the_own_system_page_s_file_runs_from_the_command_line(tmp_path):
    # The page's `my_system.py` block, saved as that file, and its first command.
    from typer.testing import CliRunner

    from chaosjax.cli import app

    text = (ROOT / "docs" / "own-system.md").read_text()
    after = text[text.index("`my_system.py`") :]
    (tmp_path / "my_system.py").write_text(blocks(after)[0].code)
    command = re.search(r"^chaosjax (simulate --system-file .*)$", after, re.M)
    assert command is not None
    out = CliRunner().invoke(app, command[1].split())
    assert out.exit_code == 0, out.output
    ds = pytest.importorskip("xarray").load_dataset(tmp_path / "mine.nc")
    assert ds.attrs["system"] == "Rucklidge" and ds["state"].shape == (5001, 3)


@pytest.mark.slow
def test_the_sensitivity_page_prints_its_blowup_table():
    text = (ROOT / "docs" / "sensitivity.md").read_text()
    ns = run_page(text, "docs/sensitivity.md")  # checks the printed output it shows
    # The page's table of the 64 initial conditions holds the rows the call prints.
    table = text[text.index("**64 initial conditions**") :].split("\n\n")[1]
    printed = {
        float(line.split("|")[0]): line
        for line in ns["tab"]
        .table(reference=ns["cj"].sensitivity.PUBLISHED_BLOWUP_TABLE)
        .splitlines()  # type: ignore[attr-defined]
        if re.match(r"\s+[\d.]+ \|", line)
    }
    rows = [r for r in table.splitlines() if re.match(r"\|\s+[\d.]+ \|", r)]
    assert len(rows) == len(printed) == 7
    for row in rows:
        cells = row.strip("|").split("|")
        assert _same_line(
            " ".join(cells), printed[float(cells[0])].replace("||", " ").replace("|", " ")
        ), row


def test_no_page_uses_a_name_it_does_not_define():
    # Every page's blocks, in order, as one module for ruff's undefined-name rule (F821):
    # cheap, so it covers the pages too long to run in the default suite.
    pytest.importorskip("ruff")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = []
    for page in pages:
        code = "\n\n".join(b.code for b in blocks(_include(page.read_text())))
        if not code:
            continue
        out = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--select", "F821", "--no-cache",
             "--output-format", "concise", "--stdin-filename", f"{page.name}.py", "-"],
            input=code, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        found += [line for line in out.stdout.splitlines() if "F821" in line]
    assert found == []


def test_the_checker_reads_skips_outputs_and_errors():
    page = (
        "```python\nx = 1\nprint(x + 0.5, 'a')\n```\n\nOutput:\n\n```\n1.5 a\n```\n\n"
        "<!-- not run: long -->\n```python\nraise SystemExit\n```\n\n"
        "```python\nprint(x)\nint('b')\n```\n\nOutput:\n\n```\n1\nValueError: "
        "invalid literal for int() with base 10: 'b'\n```\n"
    )
    assert [b.run for b in blocks(page)] == [True, False, True]
    assert run_page(page, "page")["x"] == 1
    with pytest.raises(AssertionError, match="prints"):
        run_page(page.replace("1.5 a", "1.6 a"), "page")
    with pytest.raises(AssertionError, match="raised NameError"):
        run_page("```python\nprint(undefined)\n```\n", "page")
    assert _same_line("<z> = 23.556 +- 0.089", "<z> = 23.552 +- 0.088")
    assert not _same_line("<z> = 23.556 +- 0.089", "<z> = 25.552 +- 0.088")
    assert not _same_line("<z> = 23.556 +- 0.089", "<y> = 23.556 +- 0.089")


@pytest.mark.slow
def test_the_gallery_script_draws_every_figure_of_the_page(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "gallery.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == sorted(p.name for p in (ROOT / "docs" / "gallery").glob("*.png"))
    assert all(0 < (tmp_path / n).stat().st_size < 200_000 for n in made)


def _command_lines(text: str) -> list[str]:
    """The `chaosjax ...` lines of a page's bash blocks."""
    return [
        line.strip()
        for lang, code in ((m[1], m[2]) for m in _FENCE.finditer(text))
        if lang in ("bash", "sh", "console")
        for line in code.splitlines()
        if line.strip().startswith("chaosjax ")
    ]


def test_every_command_line_in_the_docs_parses():
    # Each `chaosjax ...` example is parsed by the command it names (options, values,
    # arguments), without running it.
    import shlex

    app_module = importlib.import_module("chaosjax.cli.app")
    learn_module = importlib.import_module("chaosjax.cli.learn")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    lines = [(p.name, line) for p in pages for line in _command_lines(p.read_text())]
    assert len(lines) >= 20
    for page, line in lines:
        words = shlex.split(line, comments=True)[1:]
        if ">" in words:
            words = words[: words.index(">")]
        if words[0].startswith("-"):
            assert set(words) <= {"--help", "-h", "--version", "-V"}, (page, line)
            continue
        name, args = words[0], words[1:]
        cmd = app_module.load_command(name)
        if name == "learn" and args and not args[0].startswith("-"):
            name, cmd, args = args[0], learn_module.load_subcommand(args[0]), args[1:]
        if "--help" in args or "-h" in args:
            continue
        try:
            cmd.make_context(name, list(args))
        except Exception as e:
            raise AssertionError(f"{page}: `{line}` does not parse: {e}") from e


def test_a_command_line_that_does_not_parse_is_reported():
    app_module = importlib.import_module("chaosjax.cli.app")
    with pytest.raises(Exception, match="--stepz"):
        app_module.load_command("lyapunov").make_context("lyapunov", ["henon", "--stepz", "5"])


#: What the file-formats page's table rows are checked against: the files the commands
#: write, at small sizes.
_WRITERS = {
    "chaosjax simulate": [
        ["simulate", "henon", "--steps", "20", "--out", "traj.nc"],
        [
            "simulate",
            "henon",
            "--steps",
            "20",
            "--ensemble",
            "4",
            "--trajectories",
            "--out",
            "ens.nc",
        ],
    ],
    "chaosjax lyapunov": [["lyapunov", "henon", "--steps", "200", "--out", "lyap.nc", "--no-plot"]],
    "chaosjax sensitivity": [
        [
            "sensitivity",
            "henon",
            "--param",
            "a",
            "--members",
            "4",
            "--horizons",
            "2,4",
            "--steps",
            "200",
            "--segments",
            "2",
            "--out",
            "sens.nc",
            "--no-plot",
        ],
    ],  # fmt: skip
    "chaosjax bifurcation": [
        [
            "bifurcation",
            "logistic",
            "--param",
            "r",
            "--range",
            "3:4:5",
            "--out",
            "bif.nc",
            "--no-plot",
        ],
    ],  # fmt: skip
}


@pytest.mark.slow
def test_the_file_formats_table_names_what_the_commands_write(tmp_path):
    xr = pytest.importorskip("xarray")
    from typer.testing import CliRunner

    from chaosjax.cli import app

    text = (ROOT / "docs" / "file-formats.md").read_text()
    table = text[text.index("## What each writer holds") :].split("\n\n")[1]
    checked = 0
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        command = re.match(r"`(chaosjax \w+)", cells[1])[1]  # type: ignore[index]
        names: set[str] = set()
        for args in _WRITERS[command]:
            out = CliRunner().invoke(app, [*args, "-q"])
            assert out.exit_code == 0, out.output
            ds = xr.load_dataset(tmp_path / args[args.index("--out") + 1])
            names |= set(ds.dims) | set(ds.variables)
        for name in re.findall(r"`(\w+)`", cells[2] + cells[3]):
            assert name in names, (command, name, sorted(names))
            checked += 1
    assert checked >= 12
