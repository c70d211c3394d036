"""mkdocs hook: pages whose reference parts are generated from the code at build time.

A page marks the place with a comment line; the hook replaces it:

- `<!-- generated: cli -->`: every `chaosjax` command and `chaosjax learn` subcommand
  with its usage, help, options (name, value, help, default) and the examples of its
  `--help` (`EPILOG`), read from the typer application itself;
- `<!-- generated: plot-functions -->`: every `chaosjax.plot` function with its one-line
  summary and whether it draws into a given `ax=` or `fig=`;
- `<!-- generated: gallery -->`: each figure of `examples/gallery.py` (written into
  `docs/gallery/` by that script) beside the source of the function that draws it;
- `<!-- generated: tutorial -->`: the cells of `docs/tutorial.ipynb`, Markdown as it
  is and code as Python blocks (the notebook itself is executed by the test suite).

So no page can disagree with the code it documents.
"""

from __future__ import annotations

import html
import inspect
import re
from typing import Any

_MARK = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.M)


def _text(s: str | None) -> str:
    """Help text as Markdown: rich's escapes undone; brackets (not links) and HTML special
    characters escaped."""
    s = (s or "").replace("\\[", "[").replace("[", "\\[")
    return html.escape(" ".join(s.split()), quote=False)


def _options(cmd: Any) -> list[str]:
    lines = []
    for p in cmd.params:
        if getattr(p, "hidden", False) or p.name in ("help", "install_completion"):
            continue
        if p.name == "show_completion":
            continue
        if p.param_type_name == "argument":
            name = f"`{p.name.upper()}`" + ("" if p.required else " (optional)")
        else:
            name = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
            if p.metavar:
                name += f" `{p.metavar}`"
        default = ""
        shown = p.default is not None and p.default is not False and p.default != ()
        if p.param_type_name == "option" and shown and "[default" not in (p.help or ""):
            default = f" (default: `{p.default}`)"
        lines.append(f"- {name}: {_text(getattr(p, 'help', ''))}{default}")
    return lines


def _examples(epilog: str | None) -> list[str]:
    """The epilog's command lines as a bash block, its other text as a paragraph."""
    text = (epilog or "").replace("Examples:", "", 1)
    commands = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("chaosjax ")]
    rest = " ".join(
        ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() not in commands
    )
    out = ["", "```bash", *commands, "```"] if commands else []
    if rest:
        out += ["", _text(rest)]
    return out


def _command(title: str, cmd: Any, level: int = 3) -> list[str]:
    help_text = inspect.cleandoc(cmd.help or "")
    paragraphs = [_text(p) for p in help_text.split("\n\n") if p.strip()]
    usage = " ".join(cmd.collect_usage_pieces(_context(cmd)))
    return [
        f"{'#' * level} `{title}`",
        "",
        *[line for p in paragraphs for line in (p, "")],
        f"Usage: `{title} {usage}`",
        *_examples(cmd.epilog),
        "",
        *_options(cmd),
        "",
    ]


def _context(cmd: Any) -> Any:
    # The command's own context class (typer's click), so no click import of our own.
    return cmd.context_class(cmd)


def cli_reference() -> str:
    import importlib

    app_module = importlib.import_module("chaosjax.cli.app")
    learn_module = importlib.import_module("chaosjax.cli.learn")

    out: list[str] = []
    for name in app_module.COMMANDS:
        if name == "learn":
            group = app_module.load_command(name)
            out += ["### `chaosjax learn`", "", _text(group.help), ""]
            for sub in learn_module.SUBCOMMANDS:
                out += _command(f"chaosjax learn {sub}", learn_module.load_subcommand(sub), 4)
        else:
            out += _command(f"chaosjax {name}", app_module.load_command(name))
    return "\n".join(out)


def plot_functions() -> str:
    import chaosjax.plot as cjplot

    rows = ["| function | draws | into |", "|---|---|---|"]
    for name in sorted(cjplot.__all__):
        fn = getattr(cjplot, name)
        summary = _text((inspect.getdoc(fn) or "").split("\n\n")[0]).replace("|", "\\|")
        params = inspect.signature(fn).parameters
        into = ", ".join(f"`{p}=`" for p in ("ax", "fig", "ax_points") if p in params) or "—"
        rows.append(f"| [`{name}`](api.md#chaosjax.plot.{name}) | {summary} | {into} |")
    return "\n".join(rows)


def tutorial() -> str:
    import json
    import pathlib

    nb = json.loads((pathlib.Path(__file__).parents[1] / "tutorial.ipynb").read_text())
    out = []
    for cell in nb["cells"]:
        source = "".join(cell["source"]).strip("\n")
        if cell["cell_type"] == "markdown":
            # The notebook's title is the page's.
            out.append(re.sub(r"^# .*\n+", "", source) if not out else source)
        elif cell["cell_type"] == "code":
            out.append(f"```python\n{source}\n```")
    return "\n\n".join(out)


def gallery() -> str:
    """Read without importing the script (which would compute): its functions by `ast`."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).parents[2]
    source = (root / "examples" / "gallery.py").read_text()
    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    table = next(
        n.value
        for n in tree.body
        if isinstance(n, ast.AnnAssign | ast.Assign) and "FIGURES" in ast.unparse(n)
    )
    assert isinstance(table, ast.Dict)
    out = []
    for key in table.keys:
        name = ast.literal_eval(key)  # type: ignore[arg-type]
        fn = functions[name]
        title = (ast.get_docstring(fn) or name).split("\n")[0]
        if not (root / "docs" / "gallery" / f"{name}.png").exists():
            raise FileNotFoundError(f"docs/gallery/{name}.png: run examples/gallery.py")
        code = ast.get_source_segment(source, fn)
        out += [
            f"## {html.escape(title.rstrip('.'), quote=False)}",
            "",
            f"![{name}](gallery/{name}.png)",
            "",
            f"```python\n{code}\n```",
            "",
        ]
    return "\n".join(out)


_GENERATORS = {
    "cli": cli_reference,
    "plot-functions": plot_functions,
    "tutorial": tutorial,
    "gallery": gallery,
}


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return _MARK.sub(lambda m: _GENERATORS[m[1]](), markdown)
