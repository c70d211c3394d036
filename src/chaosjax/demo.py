"""`python -m chaosjax.demo` (what `make demo` runs): the end-to-end report for Lorenz63
into `out/`, the same as `chaosjax report lorenz63 --out out`.

Open `out/index.html` afterwards. Extra arguments are passed on to `chaosjax report`,
e.g. `python -m chaosjax.demo --quick` or `python -m chaosjax.demo henon --out henon`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from .cli import app

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        args = ["lorenz63", *args]
    if "--out" not in args and "-o" not in args:
        args += ["--out", "out"]
    app(["report", *args], prog_name="chaosjax")


if __name__ == "__main__":
    main()
