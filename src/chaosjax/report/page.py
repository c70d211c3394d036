"""The HTML of the report, from the Jinja2 templates in `templates/`.

`page.html.j2` lays out the page; `elements.html.j2` holds the keyed number and text
spans and the figures; each section has its own template of macros, which its module
calls with the report and appends to the section in the order the work finishes.
Autoescaping is on: values are escaped, and only what a template rendered (a
`markupsafe.Markup`) is inserted as HTML.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

import jinja2
from markupsafe import Markup


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("chaosjax.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def snippets(name: str) -> Any:
    """The macros of `templates/<name>.html.j2`, as attributes; each returns `Markup`."""
    return _environment().get_template(f"{name}.html.j2").module


def number(key: str, fmt: str, value: Any) -> Markup:
    """A number shown on the page, tagged with where results.json holds it."""
    return snippets("elements").number(key, fmt, format(value, fmt))


def text(key: str, value: str, tag: str = "span") -> Markup:
    """A text shown on the page (a citation, a version), tagged like `number`."""
    return snippets("elements").text(key, value, tag)


class FigurePart(Markup):
    """A figure's HTML that remembers its file and caption, so that a page can embed
    it (a data URI) or put an interactive figure in its place."""

    src: str
    caption: str


def figure(src: str, caption: str) -> FigurePart:
    """A PNG beside the page with its caption."""
    part = FigurePart(snippets("elements").figure(src, caption))
    part.src, part.caption = src, caption
    return part


def embedded(png: bytes, caption: str) -> Markup:
    """A figure with its PNG inside the page, as a data URI."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return snippets("elements").figure(uri, caption)


def render(
    *,
    name: str,
    created: Markup,
    sections: list[Any],
    interrupted: str | None,
    summary: Markup = Markup(""),
    show: Callable[[Markup], Markup] | None = None,
    head: Markup = Markup(""),
    kind: str = "static",
    interactive_file: str | None = None,
    interactive_error: Markup | None = None,
) -> str:
    """The whole page.

    **Arguments:**

    - `name`: the system's name.
    - `created`: the creation time, as a keyed text span.
    - `sections`: objects with `key`, `title`, `status` and `parts` (a list of
      `Markup`), in page order.
    - `interrupted`: the title of the section a KeyboardInterrupt stopped, or None.
    - `summary`: the block shown above the sections.
    - `show`: maps each part to what the page shows (a figure embedded, or an
      interactive figure in its place); default the part itself.
    - `head`: extra HTML for the page's head (the inlined plotly.js).
    - `kind`: "static" (figures beside the page), "self-contained" (figures embedded)
      or "interactive".
    - `interactive_file`: the interactive page beside this one, linked from it.
    - `interactive_error`: why the interactive page could not be made, or None.
    """
    template = _environment().get_template("page.html.j2")
    return template.render(
        name=name,
        created=created,
        sections=sections,
        interrupted=interrupted,
        summary=summary,
        show=show or (lambda part: part),
        head=head,
        kind=kind,
        interactive_file=interactive_file,
        interactive_error=interactive_error,
    )


def file_token(name: str, i: int) -> str:
    """A variable's name when it is safe in a file name ("z", "X1", "theta"), else its
    1-based index `i + 1` (for "x(n-1)")."""
    return name if name.isascii() and name.isidentifier() else str(i + 1)
