"""The report's first section: the system, its parameters, initial state and the
literature exponents when it runs at its defaults."""

from __future__ import annotations

import numpy as np

from .. import io as cjio
from ..systems._base import class_metadata
from . import page
from .results import Report, Section


def run(r: Report, s: Section) -> None:
    sysm = r.system
    parameters = []  # (name, indices into the value; [] for a scalar)
    for name, value in sysm.parameters().items():
        arr = np.asarray(value)
        r.put(
            f"parameter_{name}",
            arr,
            tuple(f"parameter_{name}_{i}" for i in range(arr.ndim)),
            long_name=f"parameter {name}",
        )
        parameters.append((name, list(np.ndindex(arr.shape)) if arr.ndim else []))
    structural = []
    for name, value in sysm.static_parameters().items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            r.put(f"structure_{name}", value, long_name=f"structural parameter {name}")
            structural.append(name)
    x0 = np.asarray(sysm.default_state())
    r.put("initial_state", x0, ("variable",), "state units", "initial state x0")
    r.put("dim", sysm.dim, long_name="state dimension")
    ref = sysm.reference_exponents
    references = 0  # how many literature exponents apply (none away from the defaults)
    if ref is not None and sysm.at_defaults():
        references = len(ref)
        r.put(
            "reference_exponents",
            np.asarray(ref, float),
            ("exponent",),
            "1/time" if r.flow else "1/iteration",
            "literature Lyapunov exponents",
        )
    s.parts.append(
        page.snippets("system").section(
            r,
            name=cjio.system_name(sysm),
            citation=sysm.summary(),
            parameters=parameters,
            structural=structural,
            states=len(x0),
            references=references,
            description=class_metadata(type(sysm), "description", ""),
            units=list(sysm.variable_units()),
            source=getattr(type(sysm), "__chaosjax_source__", None),
        )
    )
