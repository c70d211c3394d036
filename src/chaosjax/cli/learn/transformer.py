"""`chaosjax learn transformer`: a causal transformer on grid tokens of a system's
trajectories, judged as Shalova & Oseledets (2020) judge it (cell-histogram transport,
finite-n exponent of generated orbits), each beside its control."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import jax
import numpy as np
import typer

import chaosjax as cj

from ... import io as cjio
from ...systems import Flow
from .._errors import UserError
from .._options import (
    ParamOpt,
    QuietOpt,
    SeedOpt,
    SystemArg,
    SystemFileOpt,
    dt_for,
    resolve_system,
)
from .._output import interrupt_note, make_console
from ._common import (
    KEPT,
    METRICS_FILE,
    MODEL_FILE,
    ForceOpt,
    NoPlotsOpt,
    OutDirOpt,
    out_dir,
    positive,
)

EPILOG = """Examples:

  chaosjax learn transformer henon --grid 50 --trajectories 100 --length 10000 --out henon_tf

  chaosjax learn transformer henon --layers 2 --width 64 --context 128 --steps 400 --out quick

  chaosjax learn transformer lorenz63 --dt 0.01 --grid 20 --steps 2000 --out lorenz_tf

Writes DIR/model.eqx (the Transformer; cj.learn.load), DIR/tokenizer.eqx, DIR/metrics.json
(the paper's figures beside their controls), DIR/training.ckpt (rerun the same command to
resume), DIR/loss.png and DIR/generated_vs_true.png."""

TOKENIZER_FILE = "tokenizer.eqx"


def transformer(
    system: SystemArg = None,
    param: ParamOpt = None,
    system_file: SystemFileOpt = None,
    dt: Annotated[
        float | None, typer.Option("--dt", help="Sampling step of a flow \\[default: 0.01].")
    ] = None,
    grid: Annotated[int, typer.Option("--grid", help="Cells per coordinate (N).")] = 50,
    all_cells: Annotated[
        bool,
        typer.Option(
            "--all-cells",
            help="Every one of the N^dim cells is a token (default: only the cells the "
            "training data visit; others map to the nearest visited cell).",
        ),
    ] = False,
    trajectories: Annotated[
        int, typer.Option("--trajectories", help="Training trajectories.")
    ] = 20,
    test_trajectories: Annotated[
        int, typer.Option("--test-trajectories", help="Test trajectories (prompts).")
    ] = 4,
    length: Annotated[int, typer.Option("--length", help="Steps per trajectory.")] = 2_000,
    layers: Annotated[int, typer.Option("--layers", help="Transformer blocks.")] = 2,
    width: Annotated[int, typer.Option("--width", help="Model width.")] = 64,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads.")] = 4,
    context: Annotated[int, typer.Option("--context", help="Context length in tokens.")] = 128,
    steps: Annotated[int, typer.Option("--steps", help="AdamW steps.")] = 400,
    batch: Annotated[int, typer.Option("--batch", help="Windows per step.")] = 16,
    seed: SeedOpt = 0,
    out: OutDirOpt = Path("transformer"),
    force: ForceOpt = False,
    no_plot: NoPlotsOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a causal transformer on grid tokens of a system's trajectories; judge its
    generated trajectories by their cell histograms and largest exponent."""
    for value, option in (
        (grid, "--grid"), (trajectories, "--trajectories"), (test_trajectories,
        "--test-trajectories"), (length, "--length"), (layers, "--layers"), (width, "--width"),
        (heads, "--heads"), (context, "--context"), (steps, "--steps"), (batch, "--batch"),
    ):  # fmt: skip
        positive(value, option)
    if system is None and system_file is None:
        raise UserError("Give a SYSTEM (see `chaosjax systems`), e.g. henon.")
    sysm, _, _ = resolve_system(system, param, system_file)
    dt = dt_for(sysm, dt, default=0.01)
    out = out_dir(out, force)
    console = make_console(quiet)
    transient = 2_000 if isinstance(sysm, Flow) else 1_000

    def runs(n: int, key: int) -> np.ndarray:
        x0 = sysm.sample_state(jax.random.key(key), n)
        xs = cj.trajectory(sysm, x0, steps=length - 1, dt=dt, transient=transient)
        return np.asarray(xs)

    train, test = runs(trajectories, seed + 1), runs(test_trajectories, seed + 2)
    try:
        tok = cj.learn.GridTokenizer.fit(train, grid, margin=0.0, occupied=not all_cells)
        config = cj.learn.TransformerConfig(
            vocab_size=tok.vocab_size, context=context, layers=layers, width=width, heads=heads
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    test_tokens, clipped = tok.encode_counting(test)
    console.print(
        f"{cjio.system_name(sysm)}: {trajectories} training and {test_trajectories} test "
        f"trajectories x {length} steps; {tok.vocab_size:,} tokens of {grid**tok.dim:,} "
        f"cells; {int(clipped)} test states outside the training box or its visited cells."
    )
    t0 = time.perf_counter()
    note = f"Training stopped; rerun the command to resume from {out / 'training.ckpt'}. {KEPT}"
    with interrupt_note(console, note):
        fit = cj.learn.fit_transformer(
            tok.encode(train), key=jax.random.key(seed), steps=steps, config=config,
            tokenizer=tok, batch_size=batch, validation=test_tokens, eval_every=min(200, steps),
            checkpoint=out / "training.ckpt", progress=not quiet,
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    model = fit.model
    cj.learn.save(model, out / MODEL_FILE)
    cj.learn.save(tok, out / TOKENIZER_FILE)
    verdict = cj.learn.token_verdict(
        model, tok, test_tokens, key=jax.random.key(seed + 3), system=sysm, dt=dt
    )
    console.print(verdict.table(), markup=False)
    metrics = {
        "model": "transformer",
        "system": cjio.system_name(sysm),
        "parameters": cjio.system_parameters(sysm),
        "dt": dt,
        "grid": grid,
        "trajectories": trajectories,
        "test_trajectories": test_trajectories,
        "length": length,
        "config": {"layers": layers, "width": width, "heads": heads, "context": context},
        "n_params": int(model.n_params),
        "steps": steps,
        "seconds": seconds,
        "tokens_per_second": float(fit.tokens_per_second),
        "vocabulary": tok.vocab_size,
        "clipped_test_states": int(clipped),
        "wasserstein": {
            "temperatures": list(verdict.temperatures),
            "generated": np.asarray(verdict.wasserstein),
            "true_halves": float(verdict.reference),
            "ratio": np.asarray(verdict.ratio),
        },
        "largest_exponent": {
            "generated": np.asarray(verdict.exponents),
            "true_cube_centres": float(verdict.control),
            "method": "finite n, Jacobians at cube centres, extrapolated in 1/n",
        },
    }
    cjio.write_json(out / METRICS_FILE, metrics)
    console.print(f"Wrote {out / MODEL_FILE}, {out / TOKENIZER_FILE} and {out / METRICS_FILE}.")
    if no_plot:
        return
    from ... import plot as cjp

    hist = fit.history
    cjio.save_figure(
        cjp.loss_curves(hist.steps, hist.train, best=0, title="next-token cross-entropy"),
        out / "loss.png",
    )
    prompt = min(100, context)
    shown = min(200, length - prompt)
    generated = np.asarray(tok.decode(verdict.generated[0, 0, :shown]))
    true = np.asarray(tok.decode(test_tokens[0, prompt : prompt + shown]))
    cjio.save_figure(
        cjp.generated_vs_true(true, generated, points=True, labels=sysm),
        out / "generated_vs_true.png",
    )
    console.print(f"Wrote {out / 'loss.png'} and {out / 'generated_vs_true.png'}.")
