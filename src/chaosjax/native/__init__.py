"""Generated C kernels for CPU hot loops: the one door the algorithms go through.

Each entry point takes what an XLA kernel would take and returns the same results, or
None when it cannot run the call; the caller then runs its XLA kernel. Callers never
depend on which backend ran. See README.md in this folder for how a kernel is
generated, compiled and cached, and when XLA is used instead.

- `iterate(m, x, n)`: a batch of states after `n` steps of the map `m`.
- `iterate_and_sum(m, x, acc, observable, n)`: the same, adding `observable` of each
  state before its step to the running sums `acc`.
- `lyapunov_spectrum(push, x, Q, qr_every=..., run=...)`:
  Benettin's QR loop for one orbit.
- `store(m, x, transient, n_saves, save_every)`: a stored orbit (one state or a
  batch, per-member parameters under `vmap`): the state after the transient and every
  `save_every`-th one after it.
- `checked_calls()`: a context in which traced spectrum kernels fail where the run
  diverged (no result to read back and check).
- `cores()`: the cores this process may run on (the kernels' OpenMP threads).
- `enabled()`: False when `CHAOSJAX_CGEN=0` turns generated C off.
- `NativeWarning`: what is reported (once) when the native path cannot run here.
"""

from .compile import NativeWarning as NativeWarning
from .compile import cores as cores
from .compile import enabled as enabled
from .simulate import iterate as iterate
from .simulate import iterate_and_sum as iterate_and_sum
from .spectrum import checked_calls as checked_calls
from .spectrum import lyapunov_spectrum as lyapunov_spectrum
from .stored import store as store

__all__ = [
    "NativeWarning",
    "checked_calls",
    "cores",
    "enabled",
    "iterate",
    "iterate_and_sum",
    "lyapunov_spectrum",
    "store",
]
