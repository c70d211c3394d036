"""`make bench`: run the benchmark scripts, each in its own process, into RESULTS.md.

    python benchmarks/run_all.py [--quick] [--only ensemble lyapunov ...] [--out FILE]

Each script of `SCRIPTS` runs with its arguments and `--markdown` (with `--quick`: each
script's own `--quick` and one repeat instead, a smoke run); its tables are collected, in the
order of `SCRIPTS`, under a header that records the machine, the date, the load average,
the versions and how to read the tables, into benchmarks/RESULTS.md (or `--out`). That
file is generated whole: explanations written by hand live in benchmarks/README.md.

A script that cannot run here (one that needs an accelerator) exits with status 77, the
"skipped" of automake's test harness: reported, not counted as a failure. A failing
script is reported with the end of its error output, and `run_all.py` exits with status 1
after the others have run. The full run takes about 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version

HERE = pathlib.Path(__file__).resolve().parent

#: (script, arguments of the full run), in the order of RESULTS.md. The repeats are the
#: fewest that give stable medians, so that the whole run stays near 10 minutes.
SCRIPTS = (
    ("ensemble.py", ("--repeats", "5")),
    ("native_calls.py", ("--repeats", "5")),
    ("native_store.py", ("--repeats", "20")),
    ("lyapunov.py", ("--repeats", "3")),
    ("bifurcation.py", ("--repeats", "3")),
    ("lyapunov_sweep.py", ("--repeats", "3")),
    ("sweep_peers.py", ("--repeats", "3")),
    ("sensitivity.py", ()),
    ("metrics.py", ("--repeats", "3", "--sizes", "10000,100000", "--sliced-sizes", "10000")),
    ("learn.py", ("--repeats", "3", "--steps", "10", "--torch-adjoint-steps", "1")),
    ("transformer.py", ("--repeats", "3", "--steps", "50")),
    ("gpu_ensemble.py", ()),
    ("gpu_lyapunov_grid.py", ()),
    ("gpu_transformer.py", ()),
)

#: Scripts of this folder that `make bench` does not run, and why.
NOT_RUN = {
    "run_all.py": "this script",
    "bad_inputs.py": (
        "the bad-input census (about 20 minutes; `python benchmarks/bad_inputs.py` writes "
        "benchmarks/BAD_INPUTS.md)"
    ),
}

VERSIONS = ("chaosjax", "jax", "jaxlib", "numpy", "scipy", "numba", "diffrax", "equinox")


def title(script: pathlib.Path) -> str:
    """The first sentence (paragraph) of the script's docstring, read without importing it."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    first = " ".join(doc.split("\n\n")[0].split())
    return first.rstrip(".:").replace("`", "")


def machine() -> str:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine()):
                    model = val.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(val.split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores ({isa}), {platform.system()} {platform.release()}"


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    for name in VERSIONS:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit = ""
    return ", ".join(found) + (f"; commit {commit}" if commit else "")


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


HOW_TO_READ = """\
How to read the tables:

- Every script times chaosjax and its peers in one process, the repeats interleaved
  (A, B, C, ..., then again), after a warm-up call that compiles; the figures are
  medians. Absolute times depend on the machine and on what else runs on it: compare
  the ratios within a table, and distrust ratios under ~1.5 when the load average
  above is near or over the core count.
- Each table says how every peer was written (the fastest version of each we could
  write: numba with scalar locals and nothing allocated in the loop, diffrax with its
  fastest fixed-step settings, ...) and how far the answers agree.
- "chaosjax is x faster" and "peer / chaosjax" are above 1 when chaosjax is faster;
  "chaosjax / numba" is above 1 when chaosjax is slower.
- Rows marked `CHAOSJAX_CGEN=0` run chaosjax's XLA path; the others use its generated
  C kernels wherever they apply (CPU, float64; docs/performance.md says which calls).
- What was tried, what changed and why is written by hand in [README.md](README.md)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every script")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these scripts only (no .py)")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="the Markdown file")
    args = ap.parse_args(argv)
    scripts = [(s, a) for s, a in SCRIPTS if not args.only or s[:-3] in args.only]
    if args.only and len(scripts) != len(args.only):
        known = ", ".join(s[:-3] for s, _ in SCRIPTS)
        ap.error(f"--only takes names among: {known}")
    started = datetime.datetime.now(datetime.UTC)
    load_before, t_all = load(), time.perf_counter()
    sections, failed, skipped = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for script, script_args in scripts:
            path = HERE / script
            md = pathlib.Path(tmp) / (script[:-3] + ".md")
            if args.quick:  # the script's smoke run, one repeat
                script_args = (
                    "--quick",
                    *(("--repeats", "1") if "--repeats" in script_args else ()),
                )
            cmd = [*script_args, "--markdown"]
            shown = " ".join(["python", f"benchmarks/{script}", *cmd, "FILE"])
            print(f"\n=== {shown}", flush=True)
            t0 = time.perf_counter()
            res = subprocess.run(
                [sys.executable, str(path), *cmd, str(md)],
                cwd=HERE,
                stderr=subprocess.PIPE,
                text=True,
            )
            seconds = time.perf_counter() - t0
            sys.stderr.write(res.stderr[-4000:])
            head = [f"## {title(path)}", "", f"`{shown}` ({seconds:.0f} s)."]
            if res.returncode == 77:
                reason = (res.stderr.strip().splitlines() or ["no reason given"])[-1]
                skipped.append(script)
                sections.append([*head, "", f"Skipped here: {reason}"])
                continue
            if res.returncode != 0:
                failed.append(script)
                tail = "\n".join(res.stderr.strip().splitlines()[-15:])
                body = [f"**Failed** (exit status {res.returncode}):", "", "```text", tail, "```"]
                sections.append([*head, "", *body])
                continue
            text = md.read_text().strip() if md.exists() else "(no tables written)"
            sections.append([*head, "", text])
    minutes = (time.perf_counter() - t_all) / 60
    header = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (`python benchmarks/run_all.py"
        + (" --quick" if args.quick else "")
        + "`): do not edit by hand, the next run rewrites this file. Explanations, what "
        "was tried and what did not help: [README.md](README.md).",
        "",
        f"- Machine: {machine()}.",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; {minutes:.1f} minutes in all.",
        f"- Load average (1, 5, 15 min) before: {load_before}; after: {load()}.",
        f"- Versions: {versions()}.",
    ]
    if args.quick:
        header.append("- **Smoke run (`--quick`)**: small sizes, few repeats; not for reading.")
    if skipped:
        header.append(f"- Skipped here (no accelerator): {', '.join(skipped)}.")
    if failed:
        header.append(f"- **Failed**: {', '.join(failed)}.")
    others = "; ".join(f"{k}, {v}" for k, v in NOT_RUN.items() if k != "run_all.py")
    header.append(f"- Not run by `make bench`: {others}.")
    contents = ["Contents:", ""] + [f"- {s[0][3:]}" for s in sections]
    blocks = [header, [HOW_TO_READ], contents, *sections]
    pathlib.Path(args.out).write_text("\n\n".join("\n".join(b) for b in blocks) + "\n")
    print(f"\nwrote {args.out} ({minutes:.1f} minutes)")
    if skipped:
        print(f"skipped here: {', '.join(skipped)}")
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
