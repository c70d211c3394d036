"""The `chaosjax` command line.

```
chaosjax systems                                  # the catalogue
chaosjax simulate lorenz63 -p rho=30 --steps 20000 --dt 0.005 --out run.nc
chaosjax simulate lorenz63 --ensemble 256 --t-final 100 --out ens.nc
chaosjax lyapunov henon --steps 100000
chaosjax sensitivity lorenz63 --param rho --method lss
chaosjax bifurcation logistic --param r --range 2.5:4:2000
chaosjax report lorenz63 --out out          # the end-to-end report
chaosjax doctor                             # what this machine supports (native kernels)
```

User errors (an unknown system, a malformed option, an unwritable output) print a
one-line message and exit with status 2; a run that fails (a diverging orbit) exits
with 1; Ctrl-C exits with 130 and keeps what was already written. Set
`CHAOSJAX_DEBUG=1` to get tracebacks instead.

One module per command (`simulate.py`, ...), and for `learn` a package with one module
per subcommand; the options they share and their validation in `_options.py`, output
files and the console in `_output.py`, exit codes in `_errors.py`; `app.py` registers
the commands. The datasets the commands write are built by `chaosjax.io`.
"""

from .app import app as app
from .app import main as main

__all__ = ["app", "main"]
