"""Transformer benchmarks on a CPU: training and generation tokens/s, chaosjax vs PyTorch.

    python benchmarks/transformer.py [--repeats 3] [--steps 100] [--markdown FILE]

The model is the test size of `cj.learn.TransformerConfig.test`: a GPT-2 style decoder
with 2 layers of width 64, 4 heads, MLP ratio 4, context 128, tied output head, over
the 2,500 tokens of the Henon map on a 50 x 50 grid (the data of Shalova & Oseledets
2020, arXiv:2002.05111: trajectories from x0 = (-0.95, 0.35) + U(-0.05, 0.05)^2),
float32, no dropout. The PyTorch model is the same architecture written for speed:
`torch.nn.functional.scaled_dot_product_attention` (causal), fused QKV projection,
LayerNorm eps 1e-5, tanh GELU, tied head as one matmul, the same initial weights
(copied from the chaosjax model; the initial losses are compared below).

- Training: windows of context + 1 = 129 tokens, `--batch` (16) per step, next-token
  cross-entropy, AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 1e-2 on every
  parameter, as `optax.adamw` and `torch.optim.AdamW` both default to). chaosjax:
  `cj.learn.fit_transformer` with `eval_every` = `--steps`, timed whole (argument
  checks, initialisation, the compiled chunk of `--steps` steps, one evaluation of 4
  batches; its compilation is cached after the warm-up). PyTorch: a loop
  of `zero_grad`, forward, `backward`, `AdamW.step` on random windows, eager and under
  `torch.compile` (inductor, C++ on this CPU; the fastest is the peer).
- Generation: greedy continuation of `--prompts` prompts of 100 tokens by `--new`
  tokens, batched, with a key-value cache of `context` slots that is rebuilt from the
  last 64 tokens when full (`cj.learn.generate(..., keep=64)`: one compiled scan).
  PyTorch: the same algorithm, a Python loop of single-token steps over a preallocated
  cache (SDPA with a mask of the filled slots) under `torch.inference_mode`, eager and
  with the one-token step under `torch.compile`; the peer is the fastest. Their tokens
  are compared (greedy: equal until a near-tie of two logits is broken differently by
  float32 rounding).

Every variant runs in this process after a warm-up (compilation); figures are medians of
`--repeats` interleaved runs, each after a 250 ms pause (XLA's and PyTorch's thread
pools spin after a call). Ratios are "chaosjax tokens/s / PyTorch tokens/s": above 1,
chaosjax is faster. torch is needed only here (the CPU build suffices).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
from importlib.metadata import version

import jax
import jax.numpy as jnp
import numpy as np
from _harness import Out, timed

import chaosjax as cj

cj.enable_x64()  # the library's mode; the transformer's parameters are float32 in it

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = F = None

N_CELLS = 50
LR, WD = 1e-3, 1e-2
PROMPT, KEEP = 100, 64


def henon_tokens(n_traj=20, steps=10_000):
    hen = cj.systems.Henon()
    u = jax.random.uniform(jax.random.key(0), (n_traj, 2), minval=-0.05, maxval=0.05)
    x0 = jnp.array([[-0.95, 0.35]]) + u
    xs = jax.vmap(lambda x: cj.trajectory(hen, x, steps=steps - 1))(x0)
    tok = cj.learn.GridTokenizer.fit(xs, N_CELLS)
    return tok, np.asarray(tok.encode(xs))


# --------------------------------------------------------------------------- PyTorch


if torch is not None:

    class Block(torch.nn.Module):
        def __init__(self, d, heads, hidden):
            super().__init__()
            self.heads = heads
            self.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
            self.qkv = torch.nn.Linear(d, 3 * d)
            self.proj = torch.nn.Linear(d, d)
            self.ln2 = torch.nn.LayerNorm(d, eps=1e-5)
            self.fc = torch.nn.Linear(d, hidden)
            self.out = torch.nn.Linear(hidden, d)

        def split(self, x):
            B, T, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=-1)
            shape = (B, T, self.heads, -1)
            return (t.view(shape).transpose(1, 2) for t in (q, k, v))

        def finish(self, x, att):
            B, _, T, _ = att.shape
            x = x + self.proj(att.transpose(1, 2).reshape(B, T, -1))
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

        def forward(self, x):
            q, k, v = self.split(x)
            return self.finish(x, F.scaled_dot_product_attention(q, k, v, is_causal=True))

    class TorchGPT(torch.nn.Module):
        """The architecture of `cj.learn.Transformer`, weights copied from one."""

        def __init__(self, model):
            super().__init__()
            c = model.config
            self.context, self.heads = c.context, c.heads
            t = lambda a: torch.nn.Parameter(torch.from_numpy(np.array(a, dtype=np.float32)))
            self.wte = torch.nn.Embedding(c.vocab_size, c.width)
            self.wte.weight = t(model.token_embedding)
            self.wpe = t(model.position_embedding)
            self.blocks = torch.nn.ModuleList()
            for i in range(c.layers):
                b = Block(c.width, c.heads, c.hidden)
                pairs = [
                    (b.ln1, model.ln1_scale, model.ln1_bias, False),
                    (b.qkv, model.qkv_weight, model.qkv_bias, True),
                    (b.proj, model.proj_weight, model.proj_bias, True),
                    (b.ln2, model.ln2_scale, model.ln2_bias, False),
                    (b.fc, model.fc_weight, model.fc_bias, True),
                    (b.out, model.out_weight, model.out_bias, True),
                ]
                for mod, w, bias, linear in pairs:
                    mod.weight = t(np.asarray(w[i]).T if linear else w[i])
                    mod.bias = t(bias[i])
                self.blocks.append(b)
            self.ln_f = torch.nn.LayerNorm(c.width, eps=1e-5)
            self.ln_f.weight, self.ln_f.bias = t(model.final_scale), t(model.final_bias)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe[: idx.shape[1]]
            for b in self.blocks:
                x = b(x)
            return self.ln_f(x) @ self.wte.weight.T

        # -------------------------------------------------- cached decoding
        def prefill(self, idx, ks, vs):
            x = self.wte(idx) + self.wpe[: idx.shape[1]]
            T = idx.shape[1]
            for i, b in enumerate(self.blocks):
                q, k, v = b.split(x)
                ks[i, :, :, :T] = k
                vs[i, :, :, :T] = v
                x = b.finish(x, F.scaled_dot_product_attention(q, k, v, is_causal=True))
            return self.ln_f(x[:, -1]) @ self.wte.weight.T

        def decode(self, token, pos, ks, vs):
            # pos: a 0-d long tensor (so that a compiled step does not specialise on it).
            x = self.wte(token)[:, None] + self.wpe.index_select(0, pos[None])[None]
            mask = (torch.arange(self.context) <= pos)[None, None, None, :]
            for i, b in enumerate(self.blocks):
                q, k, v = b.split(x)
                ks[i].index_copy_(2, pos[None], k)
                vs[i].index_copy_(2, pos[None], v)
                att = F.scaled_dot_product_attention(q, ks[i], vs[i], attn_mask=mask)
                x = b.finish(x, att)
            return self.ln_f(x[:, 0]) @ self.wte.weight.T


def torch_trainer(model, tokens, batch, steps, compiled):
    data = torch.from_numpy(tokens.astype(np.int64))
    C = model.config.context
    # One module (compiled once); each call restores the initial weights and starts a
    # fresh optimiser, as each fit_transformer call starts from the initial model.
    net = TorchGPT(model)
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    fwd = torch.compile(net) if compiled else net

    def run():
        net.load_state_dict(initial)
        opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WD, eps=1e-8)
        gen = torch.Generator().manual_seed(0)
        for _ in range(steps):
            rows = torch.randint(0, data.shape[0], (batch,), generator=gen)
            starts = torch.randint(0, data.shape[1] - C, (batch,), generator=gen)
            w = data[rows[:, None], starts[:, None] + torch.arange(C + 1)]
            opt.zero_grad(set_to_none=True)
            logits = fwd(w[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1))
            loss.backward()
            opt.step()
        return loss.item()

    return run


def torch_generator(model, prompts, new, compiled):
    c = model.config
    net = TorchGPT(model).eval()
    step = torch.compile(net.decode, dynamic=False) if compiled else net.decode
    p = torch.from_numpy(np.asarray(prompts).astype(np.int64))
    B, K = p.shape
    shape = (c.layers, B, c.heads, c.context, c.head_size)

    @torch.inference_mode()
    def run():
        ks, vs = torch.zeros(shape), torch.zeros(shape)
        window = torch.zeros((B, c.context), dtype=torch.long)
        window[:, :K] = p
        logits = net.prefill(p, ks, vs)
        out = torch.empty((B, new), dtype=torch.long)
        n = K
        for i in range(new):
            token = logits.argmax(-1)
            out[:, i] = token
            if i == new - 1:
                break
            if n == c.context:
                recent = torch.cat([window[:, c.context - KEEP + 1 :], token[:, None]], 1)
                ks.zero_()
                vs.zero_()
                logits = net.prefill(recent, ks, vs)
                window[:, :KEEP] = recent
                n = KEEP
            else:
                window[:, n] = token
                logits = step(token, torch.tensor(n), ks, vs)
                n += 1
        return out.numpy()

    return run


# --------------------------------------------------------------------------- benchmarks


def initial_loss_jax(model, windows):
    logits = model(jnp.asarray(windows[:, :-1]))
    lse = jax.nn.logsumexp(logits, axis=-1)
    picked = jnp.take_along_axis(logits, jnp.asarray(windows[:, 1:])[..., None], -1)[..., 0]
    return float(jnp.mean(lse - picked))


def training_benchmark(out, tok, tokens, repeats, steps, batch):
    cfg = cj.learn.TransformerConfig.test(tok.vocab_size)
    key = jax.random.key(0)
    model = cj.learn.Transformer.init(cfg, jax.random.split(jax.random.fold_in(key, 0))[0])
    C = cfg.context
    per_call = steps * batch * C
    out(
        f"\n### Training: {cfg.layers} layers, width {cfg.width}, {cfg.heads} heads, context "
        f"{C}, vocabulary {cfg.vocab_size:,} ({model.n_params:,} parameters), batch {batch} x "
        f"{C} tokens, AdamW, float32\n"
    )
    optimizer = cj.learn.AdamW(learning_rate=LR, weight_decay=WD)

    def ours():
        res = cj.learn.fit_transformer(
            tokens, key=key, steps=steps, config=cfg, batch_size=batch,
            optimizer=optimizer, eval_every=steps,
        )  # fmt: skip
        return res.model.token_embedding

    # fit_transformer's first model is Transformer.init(cfg, split(fold_in(key, 0))[0]).
    variants = [("chaosjax `fit_transformer` (whole call)", ours)]
    if torch is not None:
        windows = np.stack([tokens[i, 37 * i : 37 * i + C + 1] for i in range(batch)])
        with torch.no_grad():
            tl = TorchGPT(model)(torch.from_numpy(windows[:, :-1].astype(np.int64)))
            targets = torch.from_numpy(windows[:, 1:].astype(np.int64)).reshape(-1)
            theirs = float(F.cross_entropy(tl.reshape(-1, tl.shape[-1]), targets))
        mine = initial_loss_jax(model, windows)
        out(
            f"Same model: initial loss on {batch} windows {mine:.7f} (chaosjax) vs "
            f"{theirs:.7f} (PyTorch), relative difference {abs(mine - theirs) / theirs:.1e}.\n"
        )
        variants.append(("PyTorch eager", torch_trainer(model, tokens, batch, steps, False)))
        variants.append(
            ("PyTorch `torch.compile`", torch_trainer(model, tokens, batch, steps, True))
        )
    first = {}
    for label, fn in variants:
        try:
            first[label] = timed(fn)[0]
        except Exception as err:  # noqa: BLE001 - report a peer that does not run here
            out(f"{label}: failed ({type(err).__name__}: {str(err)[:200]}); left out.")
            first[label] = None
    variants = [(label, fn) for label, fn in variants if first[label] is not None]
    times = {label: [] for label, _ in variants}
    for _ in range(repeats):
        for label, fn in variants:
            times[label].append(timed(fn)[0])
    med = {label: statistics.median(t) for label, t in times.items()}
    peers = [label for label in med if not label.startswith("chaosjax")]
    best = min(peers, key=lambda label: med[label]) if peers else None
    ours_rate = per_call / med[variants[0][0]]
    out("| variant | tokens/s | chaosjax / variant | first call (compile) |")
    out("|---|---:|---:|---:|")
    for label in med:
        rate = per_call / med[label]
        out(f"| {label} | {rate:,.0f} | {ours_rate / rate:.2f} | {first[label]:.1f} s |")
    if best:
        out(
            f"\n{steps} steps per timed call. chaosjax / fastest PyTorch ({best}): "
            f"**{ours_rate * med[best] / per_call:.2f}x** (whole call)."
        )


def generation_benchmark(out, tok, tokens, repeats, prompts_n, new):
    cfg = cj.learn.TransformerConfig.test(tok.vocab_size)
    model = cj.learn.Transformer.init(cfg, jax.random.key(1))
    # A trained-looking model is not needed for speed; the random one is sharpened so
    # that greedy decoding does not settle on one token.
    model = jax.tree.map(lambda x: 4 * x if x.ndim >= 2 else x, model)
    prompts = np.asarray(tokens[:prompts_n, :PROMPT])
    out(
        f"\n### Generation: {prompts_n} prompts of {PROMPT} tokens, {new:,} new tokens each, "
        f"greedy, cache of {cfg.context} slots rebuilt from the last {KEEP} when full\n"
    )
    ours = lambda: cj.learn.generate(
        model, jnp.asarray(prompts), new, key=jax.random.key(0), temperature=0.0, keep=KEEP
    )
    variants = [("chaosjax `generate`", ours)]
    if torch is not None:
        variants.append(("PyTorch eager", torch_generator(model, prompts, new, False)))
        compiled = torch_generator(model, prompts, new, True)
        variants.append(("PyTorch, `torch.compile` one-token step", compiled))
    first, answers = {}, {}
    for label, fn in variants:
        try:
            first[label], answers[label] = timed(fn)
        except Exception as err:  # noqa: BLE001 - report a peer that does not run here
            out(f"{label}: failed ({type(err).__name__}: {str(err)[:200]}); left out.")
    variants = [(label, fn) for label, fn in variants if label in first]
    times = {label: [] for label, _ in variants}
    for _ in range(repeats):
        for label, fn in variants:
            times[label].append(timed(fn)[0])
    med = {label: statistics.median(t) for label, t in times.items()}
    total = prompts_n * new
    ours_rate = total / med[variants[0][0]]
    mine = np.asarray(answers[variants[0][0]])
    out(
        "| variant | tokens/s | chaosjax / variant | first call (compile) | "
        "tokens equal to chaosjax's until |"
    )
    out("|---|---:|---:|---:|---:|")
    for label in med:
        rate = total / med[label]
        same = np.asarray(answers[label]) == mine
        differs = ~same.all(axis=0)  # over the prompts, per new token
        until = int(np.argmax(differs)) if differs.any() else new
        out(
            f"| {label} | {rate:,.0f} | {ours_rate / rate:.2f} | {first[label]:.1f} s | {until:,} |"
        )
    peers = [label for label in med if not label.startswith("chaosjax")]
    if peers:
        best = min(peers, key=lambda label: med[label])
        out(f"\nchaosjax / fastest PyTorch ({best}): **{med[best] / med[variants[0][0]]:.2f}x**.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=100, help="training steps per timed call")
    ap.add_argument("--batch", type=int, default=16, help="training windows per step")
    ap.add_argument("--prompts", type=int, default=10, help="prompts generated at once")
    ap.add_argument("--new", type=int, default=1_000, help="new tokens per prompt")
    ap.add_argument("--only", choices=("training", "generation"))
    ap.add_argument("--quick", action="store_true", help="fewer steps and tokens (smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.new = min(args.steps, 10), min(args.new, 100)
    out = Out()
    names = ("jax", "equinox", "optax", "torch")
    versions = ", ".join(f"{n} {version(n)}" for n in names if _installed(n))
    out(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {versions}; torch threads "
        f"{torch.get_num_threads() if torch else 0}. Date: "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC. Medians of "
        f"{args.repeats} interleaved runs after a warm-up."
    )
    if torch is None:
        out("torch is not installed: chaosjax only.")
    tok, tokens = henon_tokens()
    if args.only != "generation":
        training_benchmark(out, tok, tokens, args.repeats, args.steps, args.batch)
    if args.only != "training":
        generation_benchmark(out, tok, tokens, args.repeats, args.prompts, args.new)
    out(
        "\nHow each peer is written: the same architecture in PyTorch written for speed "
        "(`scaled_dot_product_attention`, fused QKV, tied head as one matmul), the same "
        "initial weights; training a plain `zero_grad`/forward/`backward`/`AdamW.step` "
        "loop, generation a loop of single-token steps over a preallocated cache under "
        "`torch.inference_mode`; both eager and under `torch.compile`, the faster of the "
        "two is the peer."
    )
    out.finish(args.markdown)


def _installed(name):
    try:
        version(name)
    except Exception:  # noqa: BLE001 - a missing distribution
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
