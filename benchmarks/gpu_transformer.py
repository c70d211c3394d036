"""The paper-size transformer on an accelerator: training tokens/s and model-flops use.

    python benchmarks/gpu_transformer.py [--steps 300] [--batch 16] [--cpu-smoke]

The model of Shalova & Oseledets (2020), arXiv:2002.05111 (GPT-2 small: 12 layers,
width 768, 12 heads, context 1024, tied head) on Lorenz63 trajectories tokenised on a
50 x 50 x 50 grid (vocabulary 125,000), trained by `cj.learn.fit_transformer` for
`--steps` AdamW steps (lr 5e-5, the paper's) on windows of 1,025 tokens, `--batch` per
step, parameters in float32 and matrix products in bfloat16 (`compute_dtype="auto"`).

Data: `--trajectories` Lorenz63 runs (sigma = 10, rho = 28, beta = 8/3) from the default
state plus N(0, 1) noise, 1,000 RK4 steps of dt = 0.01 dropped, then one state every
tau = 0.03 (the paper's sampling: dt = 0.01, every third state), `--length` states each,
simulated on the device in float64.

Reported: tokens/s of the steady state (after the first chunk of `--eval-every` steps,
which compiles; each chunk ends with an evaluation of 4 batches, included), and the
model-flops utilisation MFU = 6 N tokens/s / peak, with N every parameter (the tied
125,000 x 768 embedding counted once: it is the head's matrix product) and the peak of
an H200's dense bfloat16 tensor cores, 989 TFLOP/s (NVIDIA H200 datasheet, dense, no
sparsity); also with attention's 12 L T d flops per token added (PaLM's accounting,
Chowdhery et al. 2022, arXiv:2204.02311, appendix B). On another accelerator the
fraction is still of the H200's peak: pass `--peak` for its own.

Without a GPU or TPU visible to JAX it stops with exit status 77 ("skipped" for
`benchmarks/run_all.py`) unless `--cpu-smoke`: a tiny model (2 layers, width 64,
context 64, 10 x 10 x 10 grid) for 20 steps, to check that the script runs.
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from _harness import tee

import chaosjax as cj

H200_BF16_DENSE = 989e12


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--trajectories", type=int, default=64)
    ap.add_argument("--length", type=int, default=20_000)
    ap.add_argument("--peak", type=float, default=H200_BF16_DENSE, help="peak FLOP/s")
    ap.add_argument("--cpu-smoke", action="store_true", help="a tiny run on any machine")
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke run)")
    ap.add_argument("--markdown", help="also write the report to this Markdown file")
    args = ap.parse_args()
    if args.quick:
        args.steps = min(args.steps, 100)
        args.eval_every = min(args.eval_every, 50)
    with tee(args.markdown, fenced=True):
        return run(args)


def run(args):

    backend = jax.default_backend()
    if backend not in ("gpu", "tpu") and not args.cpu_smoke:
        print(
            f"benchmarks/gpu_transformer.py: no GPU or TPU visible to JAX (backend "
            f"{backend!r}); the paper-size model needs an accelerator. Run with "
            "--cpu-smoke to check the script on a CPU.",
            file=sys.stderr,
        )
        return 77
    cj.enable_x64()  # the data are simulated in float64; the model is float32/bfloat16
    if args.cpu_smoke:
        n_cells, steps, every = 10, 20, 10
        trajectories, length = 8, 2_000
        make = lambda vocab: cj.learn.TransformerConfig(
            vocab_size=vocab, context=64, layers=2, width=64, heads=4
        )
    else:
        n_cells, steps, every = 50, args.steps, args.eval_every
        trajectories, length = args.trajectories, args.length
        make = lambda vocab: cj.learn.TransformerConfig.paper(vocab)
    dev = jax.devices()[0]
    count = jax.device_count()
    print(f"device: {dev.device_kind} ({count} device(s), {backend}), jax {jax.__version__}")

    t0 = time.perf_counter()
    lor = cj.systems.Lorenz63()
    x0 = lor.sample_state(jax.random.key(0), trajectories)
    xs = cj.trajectory(lor, x0, steps=3 * (length - 1), dt=0.01, transient=1_000, save_every=3)
    tok = cj.learn.GridTokenizer.fit(xs, n_cells)
    tokens, clipped = tok.encode_counting(xs)
    tokens = jax.block_until_ready(tokens)
    print(
        f"data: {trajectories} x {length:,} Lorenz63 states (tau = 0.03) -> {tok.vocab_size:,} "
        f"tokens, {len(np.unique(np.asarray(tokens))):,} of them used, {int(clipped)} clipped; "
        f"{time.perf_counter() - t0:.1f} s"
    )

    cfg = make(tok.vocab_size)
    print(
        f"model: {cfg.layers} layers, width {cfg.width}, {cfg.heads} heads, context "
        f"{cfg.context}, compute {jnp.dtype(cfg.compute()).name}, parameters "
        f"{cfg.param_dtype}; batch {args.batch} x {cfg.context} tokens, {steps} steps"
    )
    losses = []

    def note(step, train, validation):
        losses.append((step, float(train[0])))
        print(
            f"  step {step}: loss {float(train[0]):.4f} ({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )

    t0 = time.perf_counter()
    res = cj.learn.fit_transformer(
        tokens,
        key=jax.random.key(1),
        steps=steps,
        config=cfg,
        batch_size=args.batch,
        optimizer=cj.learn.AdamW(learning_rate=5e-5, weight_decay=1e-2),
        eval_every=every,
        callback=note,
    )
    jax.block_until_ready(res.model.token_embedding)
    total = time.perf_counter() - t0
    n = res.model.n_params
    rate = res.tokens_per_second
    flops = 6 * n * rate
    attention = 12 * cfg.layers * cfg.context * cfg.width * rate
    print(f"parameters: {n:,}")
    print(f"training: {total:.1f} s in all (compilation included)")
    print(f"tokens/s (after the first chunk): {rate:,.0f}")
    print(
        f"model flops: {flops / 1e12:.1f} TFLOP/s = MFU {100 * flops / args.peak:.1f} % of "
        f"{args.peak / 1e12:.0f} TFLOP/s; with attention {(flops + attention) / 1e12:.1f} "
        f"TFLOP/s = {100 * (flops + attention) / args.peak:.1f} %"
    )
    stats = dev.memory_stats() if hasattr(dev, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        print(f"peak device memory: {stats['peak_bytes_in_use'] / 2**30:.1f} GiB")
    first, last = losses[0][1], losses[-1][1]
    print(
        f"loss (nats): {first:.4f} after {losses[0][0]} steps -> {last:.4f} after {losses[-1][0]}"
    )
    if not np.isfinite(last):
        print("the loss is not finite", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
