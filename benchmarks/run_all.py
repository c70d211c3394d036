"""`make bench`: run every benchmark script in this folder, each in its own process.

A script that cannot run here (e.g. one that needs an accelerator) exits with status 77,
the "skipped" of automake's test harness: reported, not counted as a failure.
"""

import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).parent
failed, skipped = [], []
for script in sorted(here.glob("*.py")):
    if script.name.startswith("_") or script.name == "run_all.py":
        continue
    print(f"\n=== {script.name}", flush=True)
    status = subprocess.call([sys.executable, str(script)])
    if status == 77:
        skipped.append(script.name)
    elif status != 0:
        failed.append(script.name)
if skipped:
    print(f"\nskipped here: {', '.join(skipped)}")
if failed:
    sys.exit(f"benchmarks failed: {', '.join(failed)}")
