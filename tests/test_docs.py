"""The documentation site: built strictly, with an entry for every public name, and
docstrings rendered as written."""

import html
import importlib
import os
import pathlib
import re
import subprocess
import sys
import types

import pytest

import chaosjax as cj

pytest.importorskip("mkdocstrings_handlers.python")

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    """The site as `make lint` builds it (`mkdocs build --strict`), once per module."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return out


@pytest.fixture(scope="module")
def anchors(site) -> set[str]:
    text = "".join(p.read_text() for p in site.rglob("*.html"))
    return set(re.findall(r'id="(chaosjax(?:\.\w+)*)"', text))


def _resolve(path: str) -> object:
    """The object a dotted anchor names (the longest importable prefix, then attributes)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p, None)
        return obj
    return None


def _public(module: types.ModuleType) -> list[str]:
    """The names `module` exports: its `__all__`; for `chaosjax`, every public name of
    `dir(chaosjax)` (its submodules included); else the public functions and classes a
    module defines (a module without `__all__` also holds what it imports)."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    if module is cj:
        return [
            n
            for n in dir(cj)
            if not n.startswith("_")
            and n not in _PROGRAMS
            and not (
                isinstance(v := getattr(cj, n), types.ModuleType)
                and not v.__name__.startswith("chaosjax.")
            )
        ]
    return [
        n
        for n in dir(module)
        if not n.startswith("_")
        and isinstance(v := getattr(module, n), (type, types.FunctionType))
        and v.__module__ == module.__name__
    ]


#: Modules that appear as attributes only once imported and are documented as programs
#: (the command line), not as an API.
_PROGRAMS = {"cli", "demo"}


def _modules() -> list[types.ModuleType]:
    """`chaosjax` and every public module reachable from it as an attribute."""
    values = [getattr(cj, n) for n in dir(cj) if not n.startswith("_") and n not in _PROGRAMS]
    subs = {
        v for v in values if isinstance(v, types.ModuleType) and v.__name__.startswith("chaosjax.")
    }
    return [cj] + sorted(subs, key=lambda m: m.__name__)


def _undocumented(anchors: set[str]) -> list[str]:
    missing = []
    for module in _modules():
        for name in _public(module):
            obj = getattr(module, name)
            if f"{module.__name__}.{name}" in anchors:
                continue
            # A re-export is documented where it is defined or re-exported first, e.g.
            # `cj.lyapunov_spectrum` as chaosjax.lyapunov.lyapunov_spectrum.
            if any(a.endswith("." + name) and _resolve(a) is obj for a in anchors):
                continue
            missing.append(f"{module.__name__}.{name}")
    return missing


def test_every_public_name_has_an_entry_in_the_api_reference(anchors):
    modules = {m.__name__ for m in _modules()}
    assert {"chaosjax.plot", "chaosjax.io", "chaosjax.learn", "chaosjax.lyapunov"} <= modules
    assert _undocumented(anchors) == []
    # The headline functions are there by their own names.
    for name in [
        "chaosjax.lyapunov.lyapunov_spectrum",
        "chaosjax.lyapunov.max_lyapunov",
        "chaosjax.lyapunov.covariant_lyapunov_vectors",
        "chaosjax.lyapunov.lyapunov_from_timeseries",
        "chaosjax.sensitivity.shadowing_sensitivity",
        "chaosjax.sensitivity.finite_time_gradient",
        "chaosjax.solvers.solve_adaptive",
        "chaosjax.plot.lyapunov_convergence",
        "chaosjax.io.save_figure",
    ]:
        assert name in anchors, name


def test_a_name_left_out_of_the_reference_is_reported(anchors):
    without = {a for a in anchors if not a.startswith("chaosjax.lyapunov.max_lyapunov")}
    # cj.max_lyapunov is a re-export of the same function, so it goes with it.
    assert _undocumented(without) == ["chaosjax.max_lyapunov", "chaosjax.lyapunov.max_lyapunov"]


# Every tag the theme and the Markdown extensions write; any other tag in a page is text
# that was taken for HTML (as `<z>` or `d<S>/dp` would be).
_TAGS = set(
    "a abbr article blockquote body br button code dd details div dl dt em footer form h1 "
    "h2 h3 h4 h5 h6 head header hr html i img input kbd label li link main meta nav ol "
    "p path pre script small span strong style sub summary sup svg table tbody td th "
    "thead title tr ul".split()
)


def test_angle_brackets_are_rendered_as_text(site):
    for page in site.rglob("*.html"):
        tags = set(re.findall(r"<([A-Za-z][\w-]*)", page.read_text()))
        assert tags <= _TAGS, (page.relative_to(site), tags - _TAGS)
    api = (site / "api" / "index.html").read_text()
    start = api.index('id="chaosjax.sensitivity.shadowing_sensitivity"')
    entry = html.unescape(re.sub(r"<[^>]+>", "", api[start : api.index("</h2>", start) + 3000]))
    assert "d<S>/dp of the long-time average" in entry
    sim = html.unescape(re.sub(r"<[^>]+>", "", (site / "simulation" / "index.html").read_text()))
    assert "256 members: ⟨z⟩ = 23.556" in sim


def _tables(page: str) -> list[list[list[str]]]:
    """Every table of an HTML page, as rows of cell texts (the header row first)."""
    return [
        [
            [c.strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
        ]
        for table in re.findall(r"<table>(.*?)</table>", page, re.S)
    ]


def test_no_table_has_an_empty_column(site):
    # `||` in a Markdown table makes a column without a header or a value.
    tables = 0
    for page in site.rglob("*.html"):
        for rows in _tables(page.read_text()):
            tables += 1
            for j, head in enumerate(rows[0]):
                column = [r[j] for r in rows[1:] if j < len(r)]
                assert head or any(column), (page.relative_to(site), rows[0])
                assert any(column), (page.relative_to(site), head)
    assert tables >= 10


def test_the_home_page_holds_the_tour_of_the_readme(site):
    home = (site / "index.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", home))
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A five-minute tour") : readme.index("[end:tour]")]
    code = re.findall(r"```python\n(.*?)```", tour, flags=re.S)
    assert len(code) == 1 and "A five-minute tour" in text
    # Every line of the tour's code is on the page, as written.
    for line in code[0].splitlines():
        assert line.strip() in text, line
    assert "--8<--" not in text and 'href="https://github.com/"' not in home


# Words that speak to the project's own bookkeeping rather than to users: tracker
# numbers, numbered random draws as names, "the post" without saying which, and
# documents that are not in the repository.
_INTERNAL = re.compile(
    r"\bs[e]{2}d ?0+\b|\bs[e]{2}d0+_|\bis{2}ues? #?\d|\bthe is{2}ue's\b|\bthe post\b"
    r"|\b(DESIGN|STYLE)\.md\b|\bleft to the lead\b|/tmp/\w",
    re.IGNORECASE,
)
# A document named in capitals (NOTES.md, PERFORMANCE.md) must be one the repository has.
_DOCUMENT = re.compile(r"\b[A-Z][A-Z_]+\.md\b")
_REPO_DOCUMENTS = {
    p.name for p in ROOT.rglob("*.md") if not {".git", ".venv", "node_modules"} & set(p.parts)
}


def _internal_words(text: str) -> list[str]:
    found = [m[0] for m in _INTERNAL.finditer(text)]
    return found + [m[0] for m in _DOCUMENT.finditer(text) if m[0] not in _REPO_DOCUMENTS]


def test_user_facing_text_speaks_to_users():
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.py")]
    files += [ROOT / "docs" / "tutorial.ipynb"]
    for folder in ("src/chaosjax", "examples", "benchmarks"):
        files += [
            p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".html", ".j2")
        ]
    hits = []
    for p in files:
        text = p.read_text()
        for m in _internal_words(text):
            hits.append(f"{p.relative_to(ROOT)}: {m}")
    assert len(files) > 100 and hits == []
    assert _INTERNAL.search("as in the post, with seed 0") is not None
    assert _internal_words("see NOTES.md and README.md") == ["NOTES.md"]


def test_the_built_site_speaks_to_users(site):
    # The site holds what the files do not show as text: every command's help (the CLI
    # page is generated from the application) and every docstring (the API reference).
    hits = []
    for page in site.rglob("*.html"):
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text()))
        hits += [f"{page.relative_to(site)}: {m}" for m in _internal_words(text)]
    assert hits == []


def _page_text(site: pathlib.Path, name: str) -> str:
    page = (site / name / "index.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_cli_page_has_every_command_with_its_options_and_an_example(site):
    app_module = importlib.import_module("chaosjax.cli.app")
    learn_module = importlib.import_module("chaosjax.cli.learn")
    text = _page_text(site, "cli")
    commands = [(f"chaosjax {n}", app_module.load_command(n)) for n in app_module.COMMANDS]
    commands += [
        (f"chaosjax learn {n}", learn_module.load_subcommand(n)) for n in learn_module.SUBCOMMANDS
    ]
    for title, cmd in commands:
        if title == "chaosjax learn":
            continue
        start = text.index(f"Usage: {title} ")
        section = text[start : text.find("Usage: chaosjax", start + 1)]
        # An example of the command itself, and every option of its --help.
        assert re.search(rf"^{re.escape(title)} \S", section, re.M), title
        for p in cmd.params:
            for opt in p.opts if p.param_type_name == "option" else []:
                if opt not in ("--help", "-h", "--install-completion", "--show-completion"):
                    assert opt in section, (title, opt)


def test_the_plotting_page_lists_every_plot_function(site):
    import chaosjax.plot as cjplot

    text = _page_text(site, "plotting")
    for name in cjplot.__all__:
        assert name in text, name


def test_the_gallery_and_the_tutorial_pages_are_complete(site):
    gallery = (site / "gallery" / "index.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', gallery)
    assert len(images) >= 8
    for src in images:
        assert (site / "gallery" / src).resolve().is_file(), src
        assert (site / "gallery" / src).stat().st_size < 200_000, src  # small PNGs
    tutorial = _page_text(site, "tutorial")
    assert "cj.learn.evaluate(model, lor, **judge)" in tutorial
    assert (site / "tutorial.ipynb").is_file()
