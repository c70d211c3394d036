"""Table I of Shalova & Oseledets (2020) at CPU scale: a causal transformer per system and
grid, judged by the Wasserstein distance of its generated states beside true-vs-true.

M. Shalova & I. Oseledets (2020), "Tensorized transformers for learning dynamical
systems", arXiv:2002.05111, Table I: the exact-transport Wasserstein distance between the
distribution of generated states and that of true test states, beside the distance
between two batches of true states, for Lorenz at N = 20, 35, 50 cells per axis, Hénon
at N = 50 and Rössler at N = 50. Here every row trains its own GPT-2 style model
(`cj.learn.fit_transformer`, 4 layers of width 128, context 256) for a fixed time budget
on trajectories made as the paper makes them (its initial distributions, no transient,
tau = 0.03 for Lorenz and 0.1 for Rössler), smaller: 100 training and 10 test
trajectories x 5,000 tokens. Lorenz runs at the parameters as printed (sigma = 28,
rho = 10, beta = 2.67: a stable focus, not chaos) and at the standard ones (10, 28, 8/3).
The vocabulary is the cells the training data visit (`GridTokenizer.fit(...,
occupied=True)`: Lorenz at N = 50 visits about 5,000 of 125,000), which is what lets
N = 50 in three dimensions train on a CPU.

Per row: W1 between the states generated (temperature 1) from the test prompts and the
true test continuations, beside W1 between two halves of the true continuations
(`cj.learn.token_verdict`); for Hénon also the finite-n exponent of the generated orbits
beside its control. For Lorenz (standard) and Rössler at N = 50, the paper's divergence
time of the model's greedy continuations (`cj.metrics.sampled_divergence_time` with the
model's tokens as the reference) beside that of the true continuations at the same
perturbation and samples, and the mean distance against time (the paper's Fig. 3).

Each finished row is written to OUT/rows/ and skipped when the script is run again, so
an interrupted run resumes. Writes OUT/table.md, OUT/table.json and figures. Run:
`python examples/transformer_table.py [--minutes 5] [--quick]` (the full table: about
an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import chaosjax as cj
import chaosjax.plot as cjp

cj.enable_x64()

K = 100  # the paper's condition length (prompt) for divergence times
# The paper's Table I: (generated vs true, true vs true).
PAPER = {
    ("lorenz", 20): (3.0379, 3.1203),
    ("lorenz", 35): (2.4122, 3.1134),
    ("lorenz", 50): (2.1777, 2.0274),
    ("henon", 50): (0.00499, 0.00379),
    ("rossler", 50): (0.0557, 0.0822),
}
PAPER_TD = {"lorenz": 1.11, "rossler": 4.59}


def cases() -> dict[str, tuple]:
    """name -> (system, dt, save_every, family, label, initial-state sampler)."""
    lor_u = ("uniform", jnp.zeros(3), 0.1)
    return {
        "lorenz-printed": (cj.systems.Lorenz63().replace(sigma=28.0, rho=10.0, beta=2.67),
                           0.01, 3, "lorenz", "Lorenz, printed (28, 10, 2.67)", lor_u),
        "lorenz-standard": (cj.systems.Lorenz63(), 0.01, 3, "lorenz",
                            "Lorenz, standard (10, 28, 8/3)", lor_u),
        "henon": (cj.systems.Henon(), None, 1, "henon", "Hénon (1.4, 0.3)",
                  ("uniform", jnp.array([-0.95, 0.35]), 0.05)),
        "rossler-printed": (cj.systems.Rossler().replace(a=0.15, b=0.2, c=10.0), 0.01, 10,
                            "rossler", "Rössler, printed (0.15, 0.2, 10)",
                            ("uniform", jnp.array([5.0, 0.0, 0.0]), 1.0)),
    }  # fmt: skip


def runs(case: tuple, n: int, length: int, key) -> np.ndarray:
    system, dt, every, _, _, (_, centre, half) = case
    x0 = centre + jax.random.uniform(key, (n, centre.shape[0]), minval=-half, maxval=half)
    xs = cj.trajectory(system, x0, steps=(length - 1) * every, dt=dt, save_every=every)
    return np.asarray(xs)


def train_row(name, case, n_grid, data, args, out: Path) -> dict:
    system, dt, every, family, label, _ = case
    train, test = data
    tok = cj.learn.GridTokenizer.fit(train, n_grid, margin=0.0, occupied=True)
    train_tokens = tok.encode(train)
    test_tokens, off = tok.encode_counting(test)
    if args.quick:
        config = cj.learn.TransformerConfig.test(tok.vocab_size, context=64)
        steps, batch = 200, 16
    else:
        config = cj.learn.TransformerConfig(
            vocab_size=tok.vocab_size, context=256, layers=4, width=128, heads=4
        )
        steps, batch = 100_000, 16
    common = dict(key=jax.random.key(0), config=config, tokenizer=tok, batch_size=batch,
                  validation=test_tokens[:, : test.shape[1] // 2], eval_every=200)  # fmt: skip
    if args.steps:
        steps = args.steps
    elif not args.quick:
        probe = cj.learn.fit_transformer(train_tokens, steps=100, **common)
        rate = float(probe.tokens_per_second)
        steps = max(200, int(args.minutes * 60 * rate / (batch * config.context)) // 200 * 200)
    t0 = time.perf_counter()
    fit = cj.learn.fit_transformer(train_tokens, steps=steps, progress=False, **common)
    minutes = (time.perf_counter() - t0) / 60
    model = fit.model
    cj.learn.save(model, out / f"{name}-{n_grid}.eqx")
    cj.learn.save(tok, out / f"{name}-{n_grid}.tokenizer.eqx")
    prompt = min(K, config.context)
    verdict = cj.learn.token_verdict(
        model, tok, test_tokens, key=jax.random.key(3), prompt=prompt,
        system=system if family == "henon" else None, temperatures=(1.0,),
    )  # fmt: skip
    row = {
        "name": name, "label": label, "family": family, "n": n_grid,
        "vocab": tok.vocab_size, "grid": n_grid ** tok.dim, "off_grid_test_states": int(off),
        "parameters": int(model.n_params), "steps": steps, "train_minutes": minutes,
        "tokens_per_second": float(fit.tokens_per_second),
        "w1": float(verdict.wasserstein[0]), "w1_true": float(verdict.reference),
        "ratio": float(verdict.ratio[0]),
        "exponent": float(verdict.exponents[0]), "exponent_control": float(verdict.control),
    }  # fmt: skip
    paper = PAPER.get((family, n_grid))
    if paper is not None:
        row["paper_w1"], row["paper_w1_true"] = paper
    if family != "henon":
        true = np.asarray(tok.decode(test_tokens[0, prompt : prompt + 400]))
        gen = np.asarray(tok.decode(verdict.generated[0, 0, :400]))
        tau = dt * every
        fig = cjp.generated_vs_true(
            true, gen, dt=tau, title=f"{label}, N = {n_grid}", labels=system
        )
        cj.io.save_figure(fig, out / f"generated_vs_true_{name}_{n_grid}.png")
    else:
        gen = np.asarray(tok.decode(verdict.generated[0, 0, :300]))
        true = np.asarray(tok.decode(test_tokens[0, prompt : prompt + 300]))
        fig = cjp.generated_vs_true(
            true, gen, points=True, title=f"{label}, N = {n_grid}", labels=system
        )
        cj.io.save_figure(fig, out / f"generated_vs_true_{name}_{n_grid}.png")
    if n_grid == 50 and family in PAPER_TD and name != "lorenz-printed":
        row.update(divergence(model, tok, case, args, out, name))
    return row


def divergence(model, tok, case, args, out: Path, name: str) -> dict:
    """The model's divergence time (greedy continuations, the paper's T -> 0) beside the
    true continuations', at the same perturbation and samples."""
    system, dt, every, family, label, (_, centre, half) = case
    tau = dt * every
    k = min(K, model.config.context)
    lam = float(cj.lyapunov_spectrum(system, centre + 0.01, steps=100_000, dt=dt,
                                     transient=20_000).exponents[0])  # fmt: skip
    start = cj.final_state(system, centre + 0.01, steps=20_000, dt=dt)
    refs, horizon = (3, 100) if args.quick else (10, 300)
    samples = 500 if args.quick else 5_000
    xs = cj.trajectory(system, start, steps=20_000 * every, dt=dt, save_every=every)
    x0s = xs[jnp.linspace(1_000, xs.shape[0] - 1_000, refs).astype(int)]
    truth = cj.trajectory(system, x0s, steps=(k + horizon - 1) * every, dt=dt, save_every=every)
    prompts = tok.encode(truth[:, :k])
    new = cj.learn.generate(model, prompts, horizon, key=jax.random.key(5), temperature=0.0)
    reference = jnp.concatenate([prompts, new], axis=1)
    # A tenth of the paper's perturbation l_d exp(-lambda k tau): enough accepted samples.
    radius = 0.5 * float(jnp.linalg.norm(tok.cell_size))
    scale = 0.1 * radius * float(np.exp(-lam * k * tau))
    common = dict(encode=tok.encode, condition=k, horizon=horizon, samples=samples,
                  scale=scale, key=jax.random.key(6), dt=dt, save_every=every)  # fmt: skip
    mod = cj.metrics.sampled_divergence_time(system, x0s, reference=reference, **common)
    tru = cj.metrics.sampled_divergence_time(system, x0s, **common)
    times = np.arange(k + horizon) * tau
    d_model = np.linalg.norm(np.asarray(tok.decode(reference)) - np.asarray(truth), axis=-1)
    d_true = np.linalg.norm(np.asarray(tru.paired_states) - np.asarray(truth), axis=-1)
    fig = cjp.distance_vs_time(times, d_model, d_true, condition_time=k * tau, exponent=lam,
                               title=f"{label}, N = 50: distance against time")  # fmt: skip
    cj.io.save_figure(fig, out / f"distance_vs_time_{name}.png")
    return {
        "lambda": lam, "inverse_lambda": 1 / lam, "scale": scale, "samples": samples,
        "refs": refs, "paper_td": PAPER_TD[family],
        "td_model_mean": float(mod.divergence.mean_time),
        "td_model_longest": float(mod.divergence.mean_longest_time),
        "td_model_accepted": int(mod.divergence.accepted.sum()),
        "td_true_mean": float(tru.divergence.mean_time),
        "td_true_longest": float(tru.divergence.mean_longest_time),
        "td_true_accepted": int(tru.divergence.accepted.sum()),
    }  # fmt: skip


def table(rows: list[dict]) -> str:
    lines = [
        "| system | N | tokens (visited / N^d) | steps | W1 generated vs true | W1 true vs true | "
        "ratio | paper: GPT-2 vs True1 | paper: True1 vs True2 | paper ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        p = (f"{r['paper_w1']:.4g} | {r['paper_w1_true']:.4g} | "
             f"{r['paper_w1'] / r['paper_w1_true']:.2f}") if "paper_w1" in r else "| |"  # fmt: skip
        lines.append(
            f"| {r['label']} | {r['n']} | {r['vocab']:,} / {r['grid']:,} | {r['steps']:,} | "
            f"{r['w1']:.4g} | "
            f"{r['w1_true']:.4g} | {r['ratio']:.2f} | {p} |"
        )
    extra = [r for r in rows if r["family"] == "henon"]
    for r in extra:
        lines.append(
            f"\nHénon, largest exponent from generated orbits (finite n, cube centres): "
            f"{r['exponent']:.4f}; the same estimator on the true test orbits: "
            f"{r['exponent_control']:.4f}; QR: 0.41922; the paper: 0.4161."
        )
    td = [r for r in rows if "td_model_mean" in r]
    if td:
        lines += [
            "",
            "| system | 1/lambda_1 | samples x refs | model: accepted, mean, longest | "
            "true: accepted, mean, longest | paper's t_d |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in td:
            lines.append(
                f"| {r['label']} | {r['inverse_lambda']:.3f} | {r['samples']} x {r['refs']} | "
                f"{r['td_model_accepted']}, {r['td_model_mean']:.3f}, "
                f"{r['td_model_longest']:.3f} | {r['td_true_accepted']}, "
                f"{r['td_true_mean']:.3f}, {r['td_true_longest']:.3f} | {r['paper_td']} |"
            )
    cost = sum(r["train_minutes"] for r in rows)
    lines.append(f"\nTraining: {cost:.1f} minutes in all; models of "
                 f"{min(r['parameters'] for r in rows):,} to "
                 f"{max(r['parameters'] for r in rows):,} parameters.")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", default="transformer_table")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per row")
    parser.add_argument(
        "--steps",
        type=int,
        default=0,
        help="training steps per row (default: as many as --minutes allow)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny models and data")
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    out = Path(args.out)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    n_train, n_test, length = (12, 4, 600) if args.quick else (100, 10, 5_000)
    grids = {"lorenz-printed": (20, 35, 50), "lorenz-standard": (20, 35, 50),
             "henon": (50,), "rossler-printed": (50,)}  # fmt: skip
    chosen = [c for c in args.only.split(",") if c] or list(grids)
    rows = []
    for i, (name, case) in enumerate(cases().items()):
        if name not in chosen:
            continue
        data = (runs(case, n_train, length, jax.random.key(10 + i)),
                runs(case, n_test, length, jax.random.key(20 + i)))  # fmt: skip
        for n_grid in grids[name]:
            done = out / "rows" / f"{name}-{n_grid}.json"
            if done.exists():
                rows.append(json.loads(done.read_text(encoding="utf-8")))
                print(f"{name} N = {n_grid}: done before, read from {done}")
                continue
            t0 = time.perf_counter()
            row = train_row(name, case, n_grid, data, args, out)
            done.write_text(json.dumps(row, indent=2), encoding="utf-8")
            rows.append(row)
            print(f"{name} N = {n_grid}: W1 {row['w1']:.4g} vs true {row['w1_true']:.4g} "
                  f"(ratio {row['ratio']:.2f}); {row['vocab']} tokens, {row['steps']} steps, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    text = table(rows)
    print("\n" + text)
    (out / "table.md").write_text(text + "\n", encoding="utf-8")
    (out / "table.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
