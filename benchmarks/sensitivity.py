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
warm-up. Run: `python benchmarks/sensitivity.py` (about a minute).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

HORIZONS = (50.0, 200.0, 1000.0)
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
    else:
        raise SystemExit(f"unknown method {method!r}")
    out["value"] = value
    out["rss_base_mb"] = base
    out["rss_peak_mb"] = _rss_mb()
    return out


def main() -> None:
    rows = []
    for T in HORIZONS:
        for method in ("chaosjax-lss", "chaosjax-nilss", "scipy-kkt"):
            res = subprocess.run(
                [sys.executable, __file__, "--worker", method, str(T)],
                capture_output=True,
                text=True,
            )
            if res.returncode != 0:
                print(res.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"{method} at T={T} failed")
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"  {r['method']:<15} T={T:<6g} {r['seconds'] * 1e3:9.1f} ms  "
                f"d<z>/drho={r['value']:.5f}  peak RSS {r['rss_peak_mb']:.0f} MB",
                flush=True,
            )
    print()
    print(
        "| T | steps | chaosjax LSS | per step | XLA temp | peak RSS | NILSS | NILSS XLA temp | "
        "SciPy sparse KKT | peak RSS | SciPy / LSS | LSS value | SciPy value |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    by = {(r["method"], r["T"]): r for r in rows}
    for T in HORIZONS:
        lss, nil, ref = by["chaosjax-lss", T], by["chaosjax-nilss", T], by["scipy-kkt", T]
        print(
            f"| {T:g} | {lss['steps']} | {lss['seconds'] * 1e3:.1f} ms | "
            f"{lss['seconds'] / lss['steps'] * 1e6:.2f} us | {lss['xla_temp_mb']:.1f} MiB | "
            f"{lss['rss_peak_mb']:.0f} MB | "
            f"{nil['seconds'] * 1e3:.1f} ms | {nil['xla_temp_mb']:.2f} MiB | "
            f"{ref['seconds'] * 1e3:.1f} ms | "
            f"{ref['rss_peak_mb']:.0f} MB | {ref['seconds'] / lss['seconds']:.1f}x | "
            f"{lss['value']:.6f} | {ref['value']:.6f} |"
        )
    t50, t1000 = by["chaosjax-lss", 50.0], by["chaosjax-lss", 1000.0]
    print(
        f"\nLSS time ratio T=1000 / T=50: {t1000['seconds'] / t50['seconds']:.1f} "
        f"(linear: 20); XLA memory ratio {t1000['xla_temp_mb'] / t50['xla_temp_mb']:.1f}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], float(sys.argv[3]))))
    else:
        main()
