"""The tutorial notebook (docs/tutorial.ipynb) runs from top to bottom and shows what
its text says.

It is executed with nbclient in a kernel of this very Python: a kernelspec written into
a temporary directory (on JUPYTER_PATH) runs `sys.executable -m ipykernel_launcher`, so
the test needs no kernel installed on the machine, and a clean virtual environment with
the `test` extra suffices.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest

import chaosjax

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def _text(cell) -> str:
    return "".join(
        o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream"
    )


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    tmp = tmp_path_factory.mktemp("tutorial")
    jupyter = tmp / "jupyter"
    kernelspec.write_kernel_spec(path=jupyter / "kernels" / "chaosjax-test")
    here = str(pathlib.Path(chaosjax.__file__).resolve().parents[1])
    env = {
        "JUPYTER_PATH": str(jupyter),
        "JUPYTER_PLATFORM_DIRS": "1",
        # The kernel imports the chaosjax under test, installed or not.
        "PYTHONPATH": os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    mp.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend shows figures
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(
            nb,
            kernel_name="chaosjax-test",
            timeout=300,
            resources={"metadata": {"path": str(tmp)}},
        )
        client.execute()
    finally:
        mp.undo()
    return nb


def test_the_tutorial_runs_and_shows_what_it_says(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    text = "\n".join(_text(c) for c in code)
    # Every code cell ran, in order, without an error.
    assert all(c.execution_count == i for i, c in enumerate(code, start=1))
    assert not [o for c in code for o in c.outputs if o["output_type"] == "error"]
    # The figures are shown inline: the attractor, the convergence and the orbit diagram.
    images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert images >= 3
    # The numbers the text quotes.
    total = float(re.search(r"sum: (\S+) divergence", text)[1])
    assert total == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-3)
    ky = float(re.search(r"Kaplan-Yorke dimension: (\S+)", text)[1])
    assert 2.0 < ky < 2.1
    assert "x' = -10.000 x + 10.000 y" in text and "z' = -2.667 z + 1.000 x y" in text
    vpt = [float(v) for v in re.findall(r"valid prediction time (\S+) Lyapunov times", text)]
    assert len(vpt) == 2 and vpt[0] > 2 * vpt[1] and vpt[1] > 0.5


def test_the_tutorial_is_stored_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
