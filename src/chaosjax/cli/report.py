"""`chaosjax report`: the end-to-end report (HTML, figures, results.json, results.nc)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import report as rep
from ._errors import EXIT_FAILED, UserError, error
from ._options import ParamOpt, QuietOpt, ReportSystemArg, SystemFileOpt, parse_params
from ._output import check_out_dir, make_console

EPILOG = """Examples:

  chaosjax report                         # lorenz63 into ./out

  chaosjax report henon --out henon_report

  chaosjax report lorenz63 --param rho=30 --members 128 --out rho30

  chaosjax report --config run.toml       # every option from a TOML file

  chaosjax report lorenz63 --quick        # ten times shorter runs

  chaosjax report lorenz63 --self-contained --interactive --out lor

The directory (./out unless --out says otherwise; nothing else is written to
the working directory) gets index.html, PNG figures, results.json, results.nc
and config.toml (the resolved configuration: rerun with --config
out/config.toml); with --interactive also interactive.html."""


def report(
    system: ReportSystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Output directory \\[default: out].")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML file with any of these options (command-line wins)."
        ),
    ] = None,
    dt: Annotated[
        float | None,
        typer.Option(
            "--dt",
            help="Time step of a flow \\[default: 0.005 for every flow, the step the report's "
            "step counts and the published Lorenz63 table are set for].",
        ),
    ] = None,
    solver: Annotated[
        str | None, typer.Option("--solver", help="Solver of a flow \\[default: rk4].")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed \\[default: 0].")] = None,
    transient: Annotated[int | None, typer.Option("--transient", help="Transient steps.")] = None,
    trajectory_steps: Annotated[
        int | None, typer.Option("--trajectory-steps", help="Steps of the attractor orbit.")
    ] = None,
    members: Annotated[
        int | None, typer.Option("--members", help="Ensemble size of the averages.")
    ] = None,
    average_steps: Annotated[
        int | None, typer.Option("--average-steps", help="Steps of each member's time average.")
    ] = None,
    lyapunov_steps: Annotated[
        int | None, typer.Option("--lyapunov-steps", help="Steps of the Lyapunov spectrum.")
    ] = None,
    sensitivity_parameter: Annotated[
        str | None,
        typer.Option(
            "--sensitivity-parameter",
            help="Parameter to differentiate by \\[default: the main one, e.g. rho].",
        ),
    ] = None,
    bifurcation_parameter: Annotated[
        str | None,
        typer.Option(
            "--bifurcation-parameter",
            help="Parameter of the orbit diagram \\[default: the main one].",
        ),
    ] = None,
    bifurcation_range: Annotated[
        str | None,
        typer.Option(
            "--bifurcation-range",
            help="Values of the orbit diagram, e.g. 25:250:400.",
            metavar="START:STOP:NUM",
        ),
    ] = None,
    sections: Annotated[
        str | None,
        typer.Option("--sections", help=f"Comma-separated subset of: {', '.join(rep.SECTIONS)}."),
    ] = None,
    quick: Annotated[
        bool | None,
        typer.Option("--quick/--full", help="Ten times shorter runs.", show_default=False),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A learned model (a file of `chaosjax learn`, or its --out DIR) to judge "
            "against the system in a section of its own.",
        ),
    ] = None,
    self_contained: Annotated[
        bool | None,
        typer.Option(
            "--self-contained",
            help="Embed the figures in index.html (data URIs): one file to send or move.",
            show_default=False,
        ),
    ] = None,
    interactive: Annotated[
        bool | None,
        typer.Option(
            "--interactive",
            help="Also write interactive.html: zoomable plotly figures (attractor in 3-D, "
            "orbit diagram, convergence), plotly.js inside, no network needed.",
            show_default=False,
        ),
    ] = None,
    allow_code: Annotated[
        bool,
        typer.Option(
            "--allow-code",
            help="Let a system_file named in --config import and run its Python file.",
        ),
    ] = False,
    quiet: QuietOpt = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace read-only files in --out (they stay read-only)."),
    ] = False,
) -> None:
    """The end-to-end report: index.html with figures, results.json, results.nc."""
    overrides, _ = parse_params(param)
    file_values = rep.read_config(config) if config is not None else {}
    cli_values = {
        "system": system,
        "system_file": system_file,
        "out": out,
        "dt": dt,
        "solver": solver,
        "seed": seed,
        "transient": transient,
        "trajectory_steps": trajectory_steps,
        "members": members,
        "average_steps": average_steps,
        "lyapunov_steps": lyapunov_steps,
        "sensitivity_parameter": sensitivity_parameter,
        "bifurcation_parameter": bifurcation_parameter,
        "bifurcation_range": bifurcation_range,
        "sections": sections,
        "quick": quick,
        "model": model,
        "self_contained": self_contained,
        "interactive": interactive,
        "parameters": overrides or None,
    }
    if system and file_values.get("system_file") and not system_file:
        file_values.pop("system_file")
    if system_file and file_values.get("system") and not system:
        file_values.pop("system")
    if system and system_file:
        raise UserError("Give either a SYSTEM name or --system-file, not both.")
    spec = file_values.get("system_file")
    if spec and not system_file and not allow_code:
        # A config is data that may come from anyone: it runs no code unless asked to.
        raise UserError(
            f"--config {str(config)!r} names Python code (system_file = {spec!r}), which "
            f"chaosjax imports only when you ask: pass --system-file {spec} or --allow-code."
        )
    cfg = rep.merge_config(file_values, cli_values)
    if cfg.model:
        # Loaded now: a wrong path is said before the other sections run, not after.
        from ..report.model import load_model

        load_model(cfg.model)
    check_out_dir(Path(cfg.out), force=force)
    console = make_console(quiet)
    say = (lambda msg: console.print(msg)) if not quiet else (lambda msg: None)
    try:
        summary = rep.run_report(cfg, progress=not quiet, say=say)
    except KeyboardInterrupt:
        console.print(
            f"[yellow]Interrupted.[/yellow] The sections that finished are in "
            f"{Path(cfg.out) / 'index.html'} (marked partial)."
        )
        raise
    if not quiet:
        console.print(f"Report written to [bold]{summary.index}[/bold] in {summary.seconds:.1f} s.")
    if summary.failed:
        error(f"section(s) failed: {', '.join(summary.failed)} (see {summary.index}).")
        raise typer.Exit(EXIT_FAILED)
