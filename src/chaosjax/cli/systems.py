"""`chaosjax systems`: the catalogue as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from .. import io as cjio
from .. import systems as catalogue
from ._output import make_console

EPILOG = "Examples:\n\n  chaosjax systems\n\n  chaosjax systems --json > catalogue.json"


def systems(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the built-in systems: name, kind, variables, parameters, reference exponents."""
    rows = []
    for name in catalogue.catalog():
        s = catalogue.get(name)
        ref = s.reference_exponents
        rows.append(
            {
                "name": name,
                "kind": s.kind,
                "dim": s.dim,
                "variables": list(s.variable_names()),
                "units": [u or "1" for u in s.variable_units()],
                "parameters": cjio.system_parameters(s),
                "reference_exponents": list(ref) if ref is not None else None,
                "reference_source": s.reference_source or None,
                "description": s.describe(),
                "source": s.summary().split(". ")[0],
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="chaosjax systems", show_lines=False)
    for col in ("name", "kind", "variables", "parameters", "reference exponents"):
        table.add_column(col, overflow="fold")

    def short(v):
        return f"{v:g}" if isinstance(v, float) else json.dumps(v)

    for r in rows:
        params = ", ".join(f"{k}={short(v)}" for k, v in r["parameters"].items())
        ref = (
            ", ".join(f"{x:g}" for x in r["reference_exponents"])
            if r["reference_exponents"]
            else "-"
        )
        names = r["variables"]
        shown = ", ".join(names) if len(names) <= 4 else f"{names[0]}, ..., {names[-1]}"
        table.add_row(r["name"], r["kind"], f"{shown} ({r['dim']})", params, ref)
    make_console().print(table)
