"""LSS cost against the horizon T, beside a straightforward SciPy sparse KKT solve.

For Lorenz63 (rho = 28, RK4, dt = 0.005, observable z) and T = 50, 200, 1000
(N = 10,000 .. 200,000 steps, one window):

- chaosjax LSS: tangent data + Schur complement + block-tridiagonal elimination, one
  jitted program (`lss.lss_single_window`); also NILSS through the public function;
- SciPy: the *same* KKT system [[I, 0, B^T], [0, alpha^2 I, F^T], [B, F, 0]] in the
  unknowns (v, eta, w), assembled as a scipy.sparse matrix from the same tangent data
  and solved by `spsolve` (SuperLU). Its time excludes the tangent data (computed by
  JAX), so the comparison is of the KKT solve alone plus, for chaosjax, everything.

Each (method, T) runs in its own process: the peak resident memory (ru_maxrss) of that
process is reported beside its baseline after imports, and for chaosjax XLA's own
memory analysis of the compiled program. Times are medians of repeated runs after a
warm-up.

Then `cj.shadowing_sensitivity` as a user calls it at rho = 28, from the default state
after 100 time units: LSS and NILSS on 8 windows of T = 50, S3 on 8 windows of T = 500,
each in its own process, timed on the first call (compilation included) and on a
second call. Run: `python benchmarks/sensitivity.py [--quick] [--markdown FILE]` (about
two minutes).

`python benchmarks/sensitivity.py --rho-sweep` (several minutes) prints
d<z>/drho at rho = 25, 30, 35, 40: S3, LSS and NILSS beside central finite differences
of long averages over 128 initial conditions, the table of docs/sensitivity.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from _harness import Out

HORIZONS = (50.0, 200.0, 1000.0)
WINDOWS = (("lss-windows", 50.0), ("nilss-windows", 50.0), ("s3-windows", 500.0))
DT = 0.005


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _setup(T: float):
    import jax

    import chaosjax as cj

    cj.enable_x64()
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.default_state(), steps=20_000, dt=DT)
    m = cj.discretize(lor, DT)
    n = int(round(T / DT))
    return jax, cj, lor, x0, m, n


def worker(method: str, T: float) -> dict:
    base = _rss_mb()
    jax, cj, lor, x0, m, n = _setup(T)
    from chaosjax.sensitivity import _common, lss, nilss

    get = lambda mm: mm.flow.rho  # noqa: E731
    Z = lambda x: x[2]  # noqa: E731
    out: dict = {"method": method, "T": T, "steps": n}
    repeats = 5 if T < 1000 else 3
    if method == "chaosjax-lss":
        fn = jax.jit(lambda x: lss.lss_single_window(m, get, Z, x, n))
        compiled = fn.lower(x0).compile()
        mem = compiled.memory_analysis()
        value = float(compiled(x0)[0])
        out["seconds"] = _median_time(lambda: compiled(x0)[0].block_until_ready(), repeats)
        out["xla_temp_mb"] = mem.temp_size_in_bytes / 2**20
    elif method == "chaosjax-nilss":
        run = lambda: cj.shadowing_sensitivity(  # noqa: E731
            lor,
            "rho",
            Z,
            x0,
            steps=n,
            dt=DT,
            segments=1,
            method=cj.NILSS(num_unstable=1, segment_steps=200),
        ).derivative.block_until_ready()
        value = float(run())
        out["seconds"] = _median_time(run, repeats)
        seg = 200
        W0 = jax.numpy.ones((3, 1))
        one = jax.jit(
            lambda x: nilss.nilss_estimate(
                *nilss.nilss_window(m, get, Z, x, W0, n // seg, seg)[1:], n // seg * seg
            )
        )
        out["xla_temp_mb"] = one.lower(x0).compile().memory_analysis().temp_size_in_bytes / 2**20
    elif method == "scipy-kkt":
        import numpy as np
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla

        x_end, (xs, phi, b, s, ds) = lss.tangent_data(m, get, Z, x0, n)
        ft = jax.vmap(_common.vector_field_step(m))(jax.numpy.concatenate([xs[1:], x_end[None]]))
        phi, b, s, ds, ft = (np.asarray(a) for a in (phi, b, s, ds, ft))
        alpha2 = float(np.mean(np.sum(ft**2, -1)))

        def solve():
            d = b.shape[1]
            N = n
            nv, ne = (N + 1) * d, N
            # B: rows of constraint i, -Phi_i on v_i and I on v_{i+1}; F: -f~_{i+1} on eta_i.
            rows = np.repeat(np.arange(N * d).reshape(N, d, 1), d, axis=2)
            cols_i = np.arange(N)[:, None, None] * d + np.arange(d)[None, None, :] + 0 * rows
            B = sp.coo_matrix(
                (-phi.reshape(-1), (rows.reshape(-1), cols_i.reshape(-1))), shape=(N * d, nv)
            )
            B = B + sp.coo_matrix(
                (np.ones(N * d), (np.arange(N * d), np.arange(N * d) + d)), shape=(N * d, nv)
            )
            F = sp.coo_matrix(
                (-ft.reshape(-1), (np.arange(N * d), np.repeat(np.arange(N), d))), shape=(N * d, ne)
            )
            K = sp.bmat(
                [[sp.identity(nv), None, B.T], [None, alpha2 * sp.identity(ne), F.T], [B, F, None]],
                format="csc",
            )
            rhs = np.concatenate([np.zeros(nv + ne), b.reshape(-1)])
            sol = spla.spsolve(K, rhs)
            v = sol[:nv].reshape(N + 1, d)[:N]
            eta = sol[nv : nv + ne]
            return float(np.mean(np.sum(ds * v, -1)) + np.mean(eta * (s - s.mean())))

        value = solve()
        out["seconds"] = _median_time(solve, repeats)
    elif method in ("lss-windows", "nilss-windows", "s3-windows"):
        # T is the length of one window here: 8 windows, as a user calls it.
        run = lambda: cj.shadowing_sensitivity(  # noqa: E731
            lor, "rho", Z, x0, steps=8 * n, dt=DT, segments=8, method=method.split("-")[0]
        )
        t0 = time.perf_counter()
        res = run()
        res.derivative.block_until_ready()
        out["first_seconds"] = time.perf_counter() - t0
        out["seconds"] = _median_time(lambda: run().derivative.block_until_ready(), 1)
        value = float(res.derivative)
        out["standard_error"] = float(res.standard_error)
        out["estimates"] = [float(e) for e in res.estimates]
    else:
        raise SystemExit(f"unknown method {method!r}")
    out["value"] = value
    out["rss_base_mb"] = base
    out["rss_peak_mb"] = _rss_mb()
    return out


def main(out, horizons=HORIZONS, windows=WINDOWS) -> None:
    rows = []
    for T in horizons:
        for method in ("chaosjax-lss", "chaosjax-nilss", "scipy-kkt"):
            rows.append(_run_worker(method, T))
            r = rows[-1]
            print(
                f"  {r['method']:<15} T={T:<6g} {r['seconds'] * 1e3:9.1f} ms  "
                f"d<z>/drho={r['value']:.5f}  peak RSS {r['rss_peak_mb']:.0f} MB",
                flush=True,
            )
    out(f"### LSS against a sparse KKT solve: Lorenz63, rho = 28, RK4 dt = {DT}, one window\n")
    out(
        "| T | steps | chaosjax LSS | per step | XLA temp | peak RSS | NILSS | NILSS XLA temp | "
        "SciPy sparse KKT | peak RSS | SciPy / LSS | LSS value | SciPy value |"
    )
    out("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    by = {(r["method"], r["T"]): r for r in rows}
    for T in horizons:
        lss, nil, ref = by["chaosjax-lss", T], by["chaosjax-nilss", T], by["scipy-kkt", T]
        out(
            f"| {T:g} | {lss['steps']} | {lss['seconds'] * 1e3:.1f} ms | "
            f"{lss['seconds'] / lss['steps'] * 1e6:.2f} us | {lss['xla_temp_mb']:.1f} MiB | "
            f"{lss['rss_peak_mb']:.0f} MB | "
            f"{nil['seconds'] * 1e3:.1f} ms | {nil['xla_temp_mb']:.2f} MiB | "
            f"{ref['seconds'] * 1e3:.1f} ms | "
            f"{ref['rss_peak_mb']:.0f} MB | {ref['seconds'] / lss['seconds']:.1f}x | "
            f"{lss['value']:.6f} | {ref['value']:.6f} |"
        )
    t50, t1000 = by["chaosjax-lss", horizons[0]], by["chaosjax-lss", horizons[-1]]
    out(
        f"\nLSS time ratio T={horizons[-1]:g} / T={horizons[0]:g}: "
        f"{t1000['seconds'] / t50['seconds']:.1f} (linear: {horizons[-1] / horizons[0]:g}); "
        f"XLA memory ratio {t1000['xla_temp_mb'] / t50['xla_temp_mb']:.1f}; "
        f"{t50['xla_temp_mb'] * 2**20 / t50['steps']:.0f} B per step"
    )
    out("\n### `cj.shadowing_sensitivity` as a user calls it: rho = 28, 8 windows\n")
    out(
        "| method | window T | d<z>/drho | standard error | window estimates | "
        "first call (compile incl.) | second call | peak RSS |"
    )
    out("|---|---|---|---|---|---|---|---|")
    for method, T in windows:
        r = _run_worker(method, T)
        out(
            f"| {method.split('-')[0].upper()} | {T:g} | {r['value']:.4f} | "
            f"{r['standard_error']:.4f} | {' '.join(f'{e:.3f}' for e in r['estimates'])} | "
            f"{r['first_seconds']:.1f} s | {r['seconds'] * 1e3:.0f} ms | "
            f"{r['rss_peak_mb']:.0f} MB |"
        )


def rho_sweep(rhos=(25.0, 30.0, 35.0, 40.0), n_initial=128, fd_steps=200_000, s3_window=200_000):
    import jax
    import numpy as np

    import chaosjax as cj

    cj.enable_x64()
    lor = cj.systems.Lorenz63()
    Z = lambda x: x[2]  # noqa: E731
    key = jax.random.PRNGKey(5)
    x0s = cj.final_state(lor, lor.sample_state(key, n_initial), steps=4000, dt=DT)

    def average(rho):
        a = cj.time_average(lor.replace(rho=rho), x0s, Z, steps=fd_steps, dt=DT, transient=4000)
        return float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.shape[0]))

    print("| rho | S3 | LSS | NILSS | FD <z>(rho +- h) | h |")
    print("|---|---|---|---|---|---|")
    for rho in rhos:
        # Below rho = 24.74 the fixed points C+- attract: near 25 the difference stays above.
        h = 0.25 if rho < 26.0 else 1.0
        (hi, se_hi), (lo, se_lo) = average(rho + h), average(rho - h)
        fd, se_fd = (hi - lo) / (2 * h), np.hypot(se_hi, se_lo) / (2 * h)
        sys_ = lor.replace(rho=rho)
        x0 = cj.final_state(sys_, x0s[0], steps=4000, dt=DT)
        kw = dict(dt=DT, segments=8)
        s3 = cj.shadowing_sensitivity(
            sys_, "rho", Z, x0, steps=10 * s3_window, dt=DT, segments=10, method="s3"
        )
        lss = cj.shadowing_sensitivity(sys_, "rho", Z, x0, steps=8 * 10_000, **kw)
        nil = cj.shadowing_sensitivity(sys_, "rho", Z, x0, steps=8 * 10_000, method="nilss", **kw)
        cells = [
            f"{float(r.derivative):.4f} +- {float(r.standard_error):.4f}" for r in (s3, lss, nil)
        ]
        print(f"| {rho:g} | {' | '.join(cells)} | {fd:.4f} +- {se_fd:.4f} | {h:g} |", flush=True)


def _run_worker(method: str, T: float) -> dict:
    res = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(T)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        print(res.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{method} at T={T} failed")
    return json.loads(res.stdout.strip().splitlines()[-1])


def cli(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="T = 50 and 200 only (smoke run)")
    ap.add_argument("--rho-sweep", action="store_true", help="the d<z>/drho table instead")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    if args.rho_sweep:
        rho_sweep()
        return
    out = Out()
    try:
        if args.quick:
            main(out, (50.0, 200.0), (("lss-windows", 50.0),))
        else:
            main(out)
        out(
            "\nHow the peer is written: the same KKT system as chaosjax's, assembled once "
            "as a `scipy.sparse` matrix from chaosjax's tangent data (not timed) and solved "
            "by `scipy.sparse.linalg.spsolve` (SuperLU with its default COLAMD ordering); a "
            "solver that exploits the block-tridiagonal structure by hand, as chaosjax "
            "does, would be faster than this general sparse one."
        )
        out(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    finally:
        if args.markdown:
            with open(args.markdown, "w") as fh:
                fh.write("\n".join(out.lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], float(sys.argv[3]))))
    else:
        cli()
