"""What a report records while its sections run, and the files it writes.

Every number shown on the page is recorded under the key its span names
(`values.<name>[i,j]`, `config.<name>`, `strings.<name>`), so that the page,
results.json and results.nc agree by construction; curves behind the figures go to
results.nc only. results.nc holds one NetCDF group per section (`system`,
`attractor`, `lyapunov`, ...) with the provenance on the root: read it with
`cj.io.load_tree`, or one section with `cj.io.load(path, group="lyapunov")`.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from markupsafe import Markup

from .. import io as cjio
from .._progress import activity
from .._provenance import _version
from ..systems import Flow
from . import page
from .config import SECTION_TITLES, SECTIONS, to_toml


def _lookup(obj: Any, path: str) -> Any:
    """The value a span's key names: `values.lyapunov_exponents[0]` ->
    obj['values']['lyapunov_exponents'][0]."""
    head, _, rest = path.partition(".")
    cur = obj
    for part in [head] + (rest.split(".") if rest else []):
        name, *idx = part.replace("]", "").split("[")
        cur = cur[name]
        for i in idx:
            for j in i.split(","):
                cur = cur[int(j)]
    return cur


def _jsonable(value: Any) -> Any:
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        arr = arr.astype(int)
    if arr.ndim == 0:
        return arr.item()
    return arr.tolist()


class Section:
    """One section of the page: its HTML parts and how it ended."""

    def __init__(self, key: str):
        self.key = key
        self.title = SECTION_TITLES[key]
        self.parts: list[Markup] = []
        self.status = "pending"  # "done", "skipped", "failed", "interrupted"
        self.note = ""

    def not_applicable(self, why: str) -> None:
        """Skip the section with a line that says why."""
        self.status = "skipped"
        self.note = f"not applicable: {why}"
        self.parts.append(page.snippets("elements").not_applicable(why))


class Report:
    """The state of a report while its sections run: the configuration, the system,
    and every number, text and figure recorded so far."""

    def __init__(self, cfg: dict[str, Any], system, out: Path, progress: bool):
        self.cfg, self.system, self.out, self.progress = cfg, system, out, progress
        self.values: dict[str, Any] = {}
        self.strings: dict[str, str] = {}
        self.nc: dict[str, Any] = {}
        self.coords: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.sections = {k: Section(k) for k in SECTIONS if k in cfg["sections"]}
        self.figures: list[str] = []
        self.started = time.time()
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.interrupted: str | None = None
        self._coordinates: dict[int, Callable] = {}
        self.flow = isinstance(system, Flow)
        self.dt = cfg["dt"] if self.flow else None
        #: The section now running: what `put`, `store` and `coord` record goes into its
        #: group of results.nc.
        self.section = "system"
        self.group_of: dict[str, str] = {}

    def busy(self, what: str):
        """A pulsing bar with the elapsed time while a call without its own progress bar
        runs (on a terminal only)."""
        return activity(self.progress, what)

    def coordinate(self, i: int) -> Callable:
        """The observable x -> x[i], one function object per i (jit caches by identity)."""
        return self._coordinates.setdefault(i, lambda x: x[i])

    # ---- numbers and text: every one shown is recorded under the key it shows
    def put(
        self,
        name: str,
        value: Any,
        dims: tuple[str, ...] = (),
        units: str = "",
        long_name: str = "",
    ) -> None:
        """Record a value shown on the page, in results.json and results.nc."""
        arr = np.asarray(value)
        if arr.ndim != len(dims):
            raise ValueError(f"{name}: {arr.ndim}-d value for dims {dims}")
        self.values[name] = _jsonable(arr)
        self.store(name, arr, dims, units, long_name)

    def store(
        self, name: str, value: Any, dims: tuple[str, ...], units: str = "", long_name: str = ""
    ) -> None:
        """Data kept in results.nc only (curves behind the figures, not shown as text)."""
        self.nc[name] = (dims, np.asarray(value), self._attrs(units, long_name or name))
        self.group_of[name] = self.section

    def coord(self, name: str, value: Any, units: str = "", long_name: str = "") -> None:
        """A coordinate of results.nc (values along the dimension `name`)."""
        self.coords[name] = (name, np.asarray(value), self._attrs(units, long_name))

    def variable(self, i: int) -> Markup:
        """The span showing the name of state variable `i` (e.g. "z"; text, which may
        hold digits: "X1", "x(n-1)")."""
        return self.t(f"variable_{i}", self.system.variable_names()[i])

    def _attrs(self, units: str, long_name: str) -> dict[str, str]:
        """CF attributes: the placeholders "state units", "time units", "iterations",
        "1/time" and "1/iteration" become the system's units ("1": dimensionless)."""
        if units == "state units":
            found = {u or "1" for u in self.system.variable_units()}
            units = found.pop() if len(found) == 1 else ""
        elif units in ("time units", "iterations"):
            units = cjio.time_units(self.system)
        elif units in ("1/time", "1/iteration"):
            units = cjio.rate_units(self.system)
        return {"units": units, "long_name": long_name} if units else {"long_name": long_name}

    def _dimension_coord(self, dim: str, size: int) -> tuple:
        """The coordinate of a dimension no section gave one: the variable names along
        `variable` and `observable`, else the index 0, 1, ... ."""
        names = self.system.variable_names()
        if dim in ("variable", "observable", "model_coordinate") and size <= len(names):
            return (dim, np.asarray(names[:size], dtype=str), {"long_name": "state variable"})
        if dim.endswith("exponent"):
            index = {"units": "1", "long_name": "index i of lambda_i (largest first)"}
            return (dim, np.arange(1, size + 1), index)
        return (dim, np.arange(size), {"units": "1", "long_name": f"index along {dim}"})

    def tree(self, attrs: dict[str, Any]) -> xr.DataTree:
        """results.nc as a DataTree: `attrs` on the root, one group per section."""
        groups: dict[str, dict[str, Any]] = {}
        for name, var in self.nc.items():
            groups.setdefault(self.group_of.get(name, "system"), {})[name] = var
        nodes = {"/": xr.Dataset(attrs=attrs)}
        order = [k for k in SECTIONS if k in groups] + [k for k in groups if k not in SECTIONS]
        for key in order:
            data = groups[key]
            dims = {d for v in data.values() for d in v[0]}
            coords = {k: c for k, c in self.coords.items() if k in dims}
            ds = xr.Dataset(data, coords=coords)
            missing = {d: self._dimension_coord(str(d), n) for d, n in ds.sizes.items()}
            ds = ds.assign_coords({d: c for d, c in missing.items() if d not in ds.coords})
            ds.attrs["title"] = SECTION_TITLES.get(key, key.capitalize())
            nodes[f"/{key}"] = ds
        return xr.DataTree.from_dict(nodes)

    def v(self, name: str, *idx: int, fmt: str = ".4g") -> Markup:
        """The span showing the recorded value `name` (at index `idx`) in format `fmt`."""
        value = self.values[name]
        for i in idx:
            value = value[i]
        key = f"values.{name}" + (f"[{','.join(map(str, idx))}]" if idx else "")
        if isinstance(value, (list, dict)):
            raise ValueError(f"{key} is not a number")
        return page.number(key, fmt, value)

    def c(self, name: str, fmt: str = "d") -> Markup:
        """The span showing the configuration value `name`."""
        return page.number(f"config.{name}", fmt, self.cfg[name])

    def t(self, name: str, text: str, tag: str = "span") -> Markup:
        """Text that may contain digits (a citation, a version): kept in results.json."""
        self.strings[name] = text
        return page.text(f"strings.{name}", text, tag)

    def figure(self, fig, name: str, caption: str) -> Markup:
        """Save a matplotlib figure beside the page; the HTML that shows it."""
        cjio.save_figure(fig, self.out / name)
        self.figures.append(name)
        return page.figure(name, caption)

    # ---- outputs
    def write(self, final: bool) -> None:
        """Write results.nc, results.json, config.toml and index.html (each atomically)."""
        results = {
            "chaosjax_version": _version(),
            "created": self.created,
            "complete": bool(final and not self.interrupted),
            "interrupted_in": self.interrupted,
            "config": self.cfg,
            "sections": {k: s.status for k, s in self.sections.items()},
            "figures": self.figures,
            "values": self.values,
            "strings": self.strings,
        }
        name = cjio.system_name(self.system)
        running, self.section = self.section, "summary"  # what the summary records
        try:
            interrupted = SECTION_TITLES[self.interrupted] if self.interrupted else None
            interactive = bool(self.cfg.get("interactive"))
            kind = "self-contained" if self.cfg.get("self_contained") else "static"
            pages: dict[str, str] = {}
            if interactive and final:
                # Built once, at the end (or at an interruption): plotly figures take a while.
                # A failure here must not lose the report: the page says what went wrong.
                try:
                    pages["interactive.html"] = self._page(name, interrupted, "interactive", None)
                except Exception as e:  # noqa: BLE001
                    self.t("interactive_error", f"{type(e).__name__}: {e}")
            link = "interactive.html" if "interactive.html" in pages else None
            pages["index.html"] = self._page(name, interrupted, kind, link)
        finally:
            self.section = running
        # The pages record the strings (and the summary its numbers) they show:
        # results.nc and results.json are written after them.
        tree = self.tree(
            cjio.attributes(
                self.system,
                dt=self.dt,
                solver=self.cfg["solver"],
                seed=self.cfg["seed"],
                config=json.dumps(self.cfg),
                content="report",
                complete=int(results["complete"]),
            )
        )
        cjio.save(tree, self.out / "results.nc")
        cjio.write_json(self.out / "results.json", results)
        cjio.write_text(self.out / "config.toml", to_toml(self.cfg))
        for file, html in pages.items():
            cjio.write_text(self.out / file, html)

    def _embed(self, html: str, replace: dict[str, Markup] | None = None) -> Markup:
        """`html` with each figure of this report embedded as a data URI, or replaced by
        the interactive figure of the same name."""
        for name in self.figures:
            pattern = re.compile(
                r'<figure><img src="' + re.escape(name) + r'" alt="[^"]*">'
                r"<figcaption>.*?</figcaption></figure>",
                re.S,
            )
            if replace and name in replace:
                html = pattern.sub(lambda _m, n=name: str(replace[n]), html)
                continue
            try:
                png = (self.out / name).read_bytes()
            except OSError:
                continue
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            html = html.replace(f'<img src="{name}"', f'<img src="{uri}"')
        return Markup(html)

    def _page(self, name: str, interrupted: str | None, kind: str, link: str | None) -> str:
        from . import summary

        head = Markup("")
        figures: dict[str, Markup] = {}
        if kind == "interactive":
            from . import interactive

            figures = interactive.figures(self)
            head = interactive.plotly_js()

        def show(part: Markup) -> Markup:
            return part if kind == "static" else self._embed(str(part), figures)

        return page.render(
            name=name,
            created=self.t("created", self.created),
            sections=list(self.sections.values()),
            interrupted=interrupted,
            summary=summary.summary(self),
            show=show,
            head=head,
            kind=kind,
            interactive_file=link,
            interactive_error=self.t("interactive_error", self.strings["interactive_error"])
            if "interactive_error" in self.strings and kind != "interactive"
            else None,
        )
