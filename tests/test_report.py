"""The end-to-end report: files, numbers in the page against results.json/results.nc,
the configuration round trip, interruption, and a rendering in headless Chromium."""

import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import chaosjax as cj
from chaosjax import report as rep
from chaosjax.cli import app
from chaosjax.report import run as report_run
from chaosjax.report.results import _lookup

runner = CliRunner()

# A reduced run of every section: shorter orbits and fewer members than the defaults.
SMALL = """
system = "lorenz63"
seed = 3
dt = 0.01
transient = 500
trajectory_steps = 1000
save_every = 2
members = 8
average_steps = 1000
lyapunov_steps = 2000
lyapunov_transient = 100
horizons = [0.5, 1.0, 2.0]
sensitivity_members = 4
shadowing_steps = 200
linear_response_steps = 0
bifurcation_range = "25:30:6"
bifurcation_transient = 500
bifurcation_keep = 10

[parameters]
rho = 28.0
"""


def invoke(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], prog_name="chaosjax", **kwargs)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    config = base / "run.toml"
    config.write_text(SMALL)
    out = base / "out"
    result = invoke("report", "--config", config, "--out", out, "--members", 6, "--interactive")
    assert result.exit_code == 0, result.output
    return out


def load_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


# --------------------------------------------------------------------------- the page


class _Page(HTMLParser):
    """Collects the keyed spans/blocks and the text that lies outside them."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict | None]] = []
        self.keyed: list[dict] = []
        self.loose_text: list[str] = []
        self.images: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"] or "")
            return
        if tag in ("meta", "br", "link"):
            return
        item = None
        if "data-key" in a:
            item = {
                "key": a["data-key"],
                "fmt": a.get("data-fmt"),
                "cls": a.get("class"),
                "text": "",
            }
            self.keyed.append(item)
        if tag in ("style", "title"):
            self.skip += 1
        self.stack.append((tag, item))

    def handle_endtag(self, tag):
        if tag in ("img", "meta", "br", "link"):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t in ("style", "title"):
                self.skip -= 1
            if t == tag:
                break

    def handle_data(self, data):
        if self.skip:
            return
        keyed = [item for _, item in self.stack if item is not None]
        if keyed:
            keyed[-1]["text"] += data
        else:
            self.loose_text.append(data)


NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def test_every_section_ran_and_every_file_is_there(report_dir):
    res = load_results(report_dir)
    assert res["complete"] is True and res["interrupted_in"] is None
    expected = {"system", "attractor", "averages", "timings"}
    expected |= {"lyapunov"} if hasattr(cj, "lyapunov_spectrum") else set()
    expected |= {"sensitivity"} if hasattr(cj, "sensitivity_blowup_table") else set()
    expected |= {"bifurcation"} if hasattr(cj, "orbit_diagram") else set()
    assert {k for k, v in res["sections"].items() if v == "done"} == expected
    for name in ("index.html", "results.json", "results.nc", "config.toml"):
        assert (report_dir / name).stat().st_size > 0
    page = _Page()
    page.feed((report_dir / "index.html").read_text())
    assert sorted(page.images) == sorted(res["figures"])
    assert "phase_portrait.png" in page.images and "cumulative_average_z.png" in page.images
    for name in page.images:
        data = (report_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    # No temporary files are left behind.
    assert not [p for p in report_dir.iterdir() if p.name.endswith(".tmp")]


def test_every_number_in_the_page_equals_results_json_and_results_nc(report_dir):
    res = load_results(report_dir)
    tree = cj.io.load_tree(report_dir / "results.nc")
    # One group per section; every value found in exactly one of them.
    groups = {g.strip("/"): tree[g].to_dataset() for g in tree.groups if g != "/"}
    # (numbers the summary at the top of the page records would go to a group "summary")
    assert set(groups) - {"summary"} == {k for k, v in res["sections"].items() if v == "done"}
    where = {name: g for g, ds in groups.items() for name in ds.data_vars}
    page = _Page()
    page.feed((report_dir / "index.html").read_text())
    # Outside the keyed elements the text holds no number at all.
    loose = [m.group() for t in page.loose_text for m in NUMBER.finditer(t)]
    assert loose == []
    assert len(page.keyed) > 50
    for item in page.keyed:
        value = _lookup(res, item["key"])
        if item["cls"] == "num":
            assert item["text"] == format(value, item["fmt"]), item
        else:
            assert item["cls"] == "txt" and item["text"] == value, item
        if item["key"].startswith("values."):
            name, _, idx = item["key"][len("values.") :].partition("[")
            nc = groups[where[name]][name].values
            if idx:
                nc = nc[tuple(int(i) for i in idx.rstrip("]").split(","))]
            assert float(nc) == pytest.approx(float(value), rel=1e-15, abs=1e-300), item
    # Spot checks of meaning: the ensemble statistics are those of the stored curves.
    final = groups["averages"]["cumulative_average"].values[:, -1, :]
    np.testing.assert_allclose(res["values"]["average_mean"], final.mean(0), rtol=1e-12)
    np.testing.assert_allclose(res["values"]["average_std"], final.std(0, ddof=1), rtol=1e-12)
    attrs = tree.attrs
    assert attrs["system"] == "lorenz63" and attrs["seed"] == 3
    assert attrs["dt"] == 0.01 and attrs["solver"] == "rk4"
    # Named variables and a coordinate on every dimension of every group.
    att = groups["attractor"]
    assert list(att["variable"].values) == ["x", "y", "z"]
    assert float(att["trajectory_mean"].sel(variable="z")) == res["values"]["trajectory_mean"][2]
    assert list(groups["bifurcation"]["orbit_points"].dims) == ["rho", "orbit_point"]
    for ds in groups.values():
        assert set(ds.dims) <= set(ds.coords), ds
    assert groups["lyapunov"]["lyapunov_exponents"].attrs["units"] == "1"
    assert list(groups["lyapunov"]["exponent"].values) == [1, 2, 3]
    # The page names the variables as Lorenz (1963) does, in its tables too.
    assert [res["strings"][f"variable_{i}"] for i in range(3)] == ["x", "y", "z"]
    assert "convection" in res["strings"]["description"]


def test_lyapunov_numbers_make_sense(report_dir):
    if not hasattr(cj, "lyapunov_spectrum"):
        pytest.skip("cj.lyapunov_spectrum is not in this build")
    v = load_results(report_dir)["values"]
    lam = v["lyapunov_exponents"]
    # Lorenz63 over 20 time units: lambda1 ~ 0.9 (loose: short run), and the sum equals
    # the mean divergence -(sigma + 1 + beta) up to the RK4 error.
    assert 0.5 < lam[0] < 1.4
    assert sum(lam) == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-3)
    assert v["contraction_rate"] == pytest.approx(-(10 + 1 + 8 / 3), rel=1e-9)
    assert 1.9 < v["kaplan_yorke_dimension"] < 2.2
    # The distance to the literature in standard errors, and a comment where it is large.
    z = np.abs(np.subtract(lam, v["reference_exponents"])) / v["lyapunov_error"]
    np.testing.assert_allclose(v["lyapunov_difference_errors"], z, rtol=1e-12)
    html = (report_dir / "index.html").read_text()
    assert ("The literature value lies more than two standard errors" in html) == bool(
        (z > 2).any()
    )


def test_resolved_configuration_is_recorded_and_reruns(report_dir):
    res = load_results(report_dir)
    cfg = res["config"]
    # The file's values, with the command line winning (--members 6 over 8).
    assert cfg["members"] == 6 and cfg["seed"] == 3 and cfg["dt"] == 0.01
    assert cfg["parameters"]["rho"] == 28.0 and cfg["sensitivity_parameter"] == "rho"
    again, _ = rep.resolve(rep.merge_config(rep.read_config(report_dir / "config.toml")))
    assert again == cfg
    assert json.loads(cj.io.load(report_dir / "results.nc").attrs["config"]) == cfg
    # The system is rebuilt from the file's provenance.
    system = cj.io.load_system(report_dir / "results.nc")
    assert type(system) is cj.systems.Lorenz63 and float(system.rho) == 28.0


def test_config_errors_are_user_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('system = "lorenz63"\nmembrs = 4\n')
    result = invoke("report", "--config", bad, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "did you mean 'members'" in result.stderr.lower()
    bad.write_text("members = -1\n")
    result = invoke("report", "--config", bad, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "positive integer" in result.stderr
    bad.write_text("members = [\n")
    result = invoke("report", "--config", bad, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "not valid TOML" in result.stderr
    result = invoke("report", "--config", tmp_path / "missing.toml")
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = invoke("report", "henon", "--dt", 0.1, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "flows only" in result.stderr
    result = invoke("report", "lorenz63", "--sections", "system,lyapnov", "--out", tmp_path)
    assert result.exit_code == 2 and "did you mean 'lyapunov'" in result.stderr.lower()


# --------------------------------------------------------------------------- robustness


def _tiny(out, **kw):
    cfg = dict(
        system="henon",
        out=str(out),
        transient=100,
        trajectory_steps=200,
        members=4,
        average_steps=200,
        lyapunov_steps=500,
        horizons=[5.0, 10.0],
        sensitivity_members=3,
        bifurcation_range="1:1.4:5",
        bifurcation_keep=8,
    )
    cfg.update(kw)
    return cfg


def test_a_map_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORCE_COLOR", "1")  # progress bars as on a terminal
    summary = rep.run_report(
        _tiny(tmp_path, sections=["system", "attractor", "bifurcation", "timings"]),
        progress=True,
    )
    assert summary.failed == [] and not summary.interrupted
    shown = capsys.readouterr().out
    assert "orbit diagram over a" in shown and "5/5" in shown  # a bar over the values
    assert "classifying the attractor" in shown  # a pulsing bar for one compiled call
    res = load_results(tmp_path)
    assert res["config"]["dt"] is None and res["values"]["bifurcation_values"] == 5
    assert "orbit_diagram.png" in res["figures"]


def test_a_section_that_does_not_apply_is_left_out_with_a_line(tmp_path):
    # A rotation has no parameter to differentiate by or to sweep.
    (tmp_path / "rotation.py").write_text(
        "import jax.numpy as jnp\n"
        "import chaosjax as cj\n\n"
        "class Rotation(cj.Flow):\n"
        "    def vector_field(self, x):\n"
        "        return jnp.stack([-x[1], x[0]])\n"
        "    def default_state(self):\n"
        "        return jnp.array([1.0, 0.0])\n"
    )
    summary = rep.run_report(
        dict(
            system_file=f"{tmp_path / 'rotation.py'}:Rotation",
            out=str(tmp_path / "o"),
            sections=["system", "sensitivity", "bifurcation", "timings"],
        )
    )
    assert summary.sections == {
        "system": "done",
        "sensitivity": "skipped",
        "bifurcation": "skipped",
        "timings": "done",
    }
    html = (tmp_path / "o" / "index.html").read_text()
    assert html.count("Not applicable: this system has no scalar parameter") == 2
    values = load_results(tmp_path / "o")["values"]
    assert "blowup_mean" not in values and "bifurcation_values" not in values


def test_a_failing_section_is_reported_and_the_rest_still_run(tmp_path, monkeypatch):
    def boom(r, s):
        raise RuntimeError("the solver exploded")

    monkeypatch.setitem(report_run._RUNNERS, "attractor", boom)
    result = invoke(
        "report", "henon", "--sections", "system,attractor,timings", "--out", tmp_path, "-q"
    )
    assert result.exit_code == 1 and "attractor" in result.stderr
    res = load_results(tmp_path)
    assert res["sections"] == {"system": "done", "attractor": "failed", "timings": "done"}
    assert "the solver exploded" in (tmp_path / "index.html").read_text()


def test_an_interrupted_report_keeps_the_finished_sections(tmp_path, monkeypatch):
    def interrupt(r, s):
        raise KeyboardInterrupt

    monkeypatch.setitem(report_run._RUNNERS, "averages", interrupt)
    result = invoke(
        "report",
        "henon",
        "--sections",
        "system,attractor,averages,timings",
        "--out",
        tmp_path,
        "--transient",
        100,
        "--trajectory-steps",
        200,
    )
    assert result.exit_code == 130
    assert "Interrupted" in result.output and "Traceback" not in result.output
    res = load_results(tmp_path)
    assert res["complete"] is False and res["interrupted_in"] == "averages"
    assert res["sections"]["attractor"] == "done" and res["sections"]["timings"] == "pending"
    html = (tmp_path / "index.html").read_text()
    assert "This report is partial" in html
    for name in res["figures"]:
        assert (tmp_path / name).exists()
    assert "trajectory" in cj.io.load(tmp_path / "results.nc", group="attractor")


def test_rerun_into_the_same_directory_removes_stale_figures(tmp_path):
    rep.run_report(_tiny(tmp_path, sections=["system", "attractor", "bifurcation"]))
    assert (tmp_path / "orbit_diagram.png").exists()
    (tmp_path / "notes.txt").write_text("mine")
    rep.run_report(_tiny(tmp_path, sections=["system", "attractor"]))
    assert not (tmp_path / "orbit_diagram.png").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- in a browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_chromium(exe, tmp_path, *args):
    profile = tmp_path / "chromium-profile"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


_CHECK_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.from(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var out = document.createElement("pre");
  out.id = "image-check";
  out.textContent = "images=" + imgs.length + " broken=" + bad.length + " " +
                    bad.map(function (i) { return i.getAttribute("src"); }).join(",");
  document.body.appendChild(out);
});
</script>
"""


def test_index_renders_in_headless_chromium(report_dir, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium); the "
            "rendering test needs a headless browser"
        )
    # Every image loaded: a copy of the page beside it reports img.complete/naturalWidth.
    page = (report_dir / "index.html").read_text()
    check = report_dir / "_check.html"
    check.write_text(page.replace("</body>", _CHECK_SCRIPT + "</body>"))
    try:
        dom = _run_chromium(
            exe, tmp_path, "--virtual-time-budget=10000", "--dump-dom", check.as_uri()
        )
    finally:
        check.unlink()
    match = re.search(r"images=(\d+) broken=(\d+)([^<]*)", dom.stdout)
    assert match, dom.stderr[-2000:]
    n_images = len(load_results(report_dir)["figures"])
    assert int(match.group(1)) == n_images and int(match.group(2)) == 0, match.group(0)
    # A screenshot of the page is not blank.
    shot = tmp_path / "shot.png"
    result = _run_chromium(
        exe,
        tmp_path,
        "--window-size=1100,2400",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        (report_dir / "index.html").as_uri(),
    )
    assert shot.exists(), result.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    non_white = np.mean(np.any(pixels < 0.9, axis=-1))
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05 and non_white > 0.03, (
        pixels.std(),
        non_white,
    )
    assert math.isfinite(float(pixels.mean()))


@pytest.mark.slow
def test_make_demo_default_report_within_three_minutes(tmp_path):
    """`python -m chaosjax.demo` (make demo): the full lorenz63 report into out/, every
    section done and every figure present, well within the 3-minute budget."""
    import sys
    import time

    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "chaosjax.demo", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.time() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    res = load_results(out)
    assert res["complete"] and all(v == "done" for v in res["sections"].values())
    for name in res["figures"]:
        assert (out / name).stat().st_size > 5_000
    assert seconds < 180, seconds
    # Lorenz63 at the defaults: the literature spectrum and d<z>/drho ~ 1.01.
    v = res["values"]
    np.testing.assert_allclose(v["lyapunov_exponents"], [0.9056, 0.0, -14.5723], atol=2e-2)
    if "shadowing_derivative" in v:
        assert v["shadowing_derivative"] == pytest.approx(1.01, abs=0.03)
    assert v["finite_difference"] == pytest.approx(1.01, abs=0.05)


def test_a_users_system_from_a_config_file(tmp_path, monkeypatch):
    (tmp_path / "my_system.py").write_text(
        "import jax.numpy as jnp\n"
        "import chaosjax as cj\n\n"
        "class Spiral(cj.Flow):\n"
        "    a: float = cj.systems.param(-0.5)\n"
        "    def vector_field(self, x):\n"
        "        return jnp.stack([self.a * x[0] - x[1], x[0] + self.a * x[1]])\n"
        "    def default_state(self):\n"
        "        return jnp.array([1.0, 0.0])\n"
    )
    (tmp_path / "run.toml").write_text(
        'system_file = "my_system.py:Spiral"\n'
        'sections = ["system", "lyapunov", "timings"]\n'
        "lyapunov_steps = 2000\nlyapunov_transient = 0\ndt = 0.01\n"
        "[parameters]\na = -0.25\n"
    )
    monkeypatch.chdir(tmp_path.parent)  # the file is found relative to the config file
    # Code named in a config runs only with --allow-code (or --system-file).
    args = ("report", "--config", tmp_path / "run.toml", "--out", tmp_path / "o", "-q")
    result = invoke(*args, "--allow-code")
    assert result.exit_code == 0, result.output
    res = load_results(tmp_path / "o")
    assert res["config"]["system"] == "Spiral" and res["config"]["parameters"] == {"a": -0.25}
    if hasattr(cj, "lyapunov_spectrum"):
        # A linear spiral: both exponents equal a.
        np.testing.assert_allclose(res["values"]["lyapunov_exponents"], [-0.25, -0.25], atol=1e-3)


# --------------------------------------------------------------------------- the summary


def _section_text(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_summary_at_the_top_names_method_length_and_error(report_dir):
    html = (report_dir / "index.html").read_text()
    v = load_results(report_dir)["values"]
    # Above every section, and built from the recorded numbers only.
    assert html.index('id="summary"') < html.index('<section id="system">')
    block = _section_text(html, 'id="summary"', "</div>")
    for key in (
        "values.lyapunov_exponents[0]",
        "values.lyapunov_error[0]",
        "values.kaplan_yorke_dimension",
        "values.kaplan_yorke_error",
        "strings.classification",
        "config.lyapunov_steps",
    ):
        assert f'data-key="{key}"' in block, key
    assert "QR (Benettin) method" in block and "jackknife" in block
    # The errors are there and of a sensible size for a 20-time-unit run.
    assert 0 < v["lyapunov_error"][0] < 0.5 and 0 < v["kaplan_yorke_error"] < 0.2


def test_disagreeing_sensitivities_come_with_the_explanation(report_dir):
    """The reduced run's shadowing (200 steps) and finite difference disagree: the page
    must say so, give both reasons, and not present either number as the answer."""
    res = load_results(report_dir)
    v, strings = res["values"], res["strings"]
    expected = abs(v["shadowing_derivative"] - v["finite_difference"]) / math.hypot(
        v["shadowing_error"], v["finite_difference_error"]
    )
    assert v["lss_fd_discrepancy"] == pytest.approx(expected, rel=1e-12)
    assert expected > 2  # this configuration's known disagreement (3.9 errors)
    html = (report_dir / "index.html").read_text()
    verdict = _section_text(html, 'id="sensitivity-verdict"', "</div>")
    assert "The estimates disagree" in verdict
    assert "Shadowing bias" in verdict and "Non-convergence of the finite difference" in verdict
    assert "No estimate here is established" in verdict
    assert strings["sensitivity_trusted"] == "none"
    summary = _section_text(html, 'id="summary"', "</div>")
    assert "not established" in summary and 'href="#sensitivity-verdict"' in summary
    # S3 was switched off in this run, and the page says so.
    assert "linear_response_derivative" not in v
    assert "The full linear response (S3) was not computed" in html


def test_the_verdict_rules():
    from chaosjax.report.summary import verdict

    # Lorenz63-like: LSS biased by 3.4 errors; a converged S3 is the number to trust.
    v = verdict(lss=0.990, lss_err=0.004, fd=1.0201, fd_err=0.0080, s3=1.005, s3_err=0.0036)
    assert v.trusted == "S3" and v.disagree and v.s3_converged
    assert v.lss_fd == pytest.approx(0.0301 / math.hypot(0.004, 0.008))
    # The same without S3: nothing is established.
    assert verdict(lss=0.990, lss_err=0.004, fd=1.0201, fd_err=0.0080).trusted is None
    # Hénon-like: -0.04 beside -1.11, and an S3 that did not converge.
    v = verdict(lss=-0.0419, lss_err=0.068, fd=-1.1113, fd_err=0.048, s3=-8176.0, s3_err=9100.0)
    assert v.trusted is None and v.s3_converged is False and v.lss_fd > 12
    # Agreement: the more precise of the two.
    assert verdict(lss=1.0, lss_err=0.01, fd=1.02, fd_err=0.05).trusted == "LSS"
    assert verdict(lss=-1.14, lss_err=0.79, fd=-1.08, fd_err=0.009).trusted == ("finite difference")
    # One estimate alone, and a non-finite one.
    assert verdict(fd=0.5, fd_err=0.1).trusted == "finite difference"
    assert verdict(lss=float("nan"), lss_err=0.1, fd=0.5, fd_err=0.1).trusted is None


def test_a_converged_linear_response_is_named_the_number_to_trust(tmp_path):
    from chaosjax.report.results import Report
    from chaosjax.report.summary import judge, summary

    cfg = dict(
        sections=[], dt=0.005, sensitivity_observable=2, sensitivity_parameter="rho",
        shadowing_steps=80_000, shadowing_segments=8, linear_response_steps=1_000_000,
        members=64, average_steps=20_000, transient=20_000,
    )  # fmt: skip
    r = Report(cfg, cj.systems.Lorenz63(), tmp_path, False)
    for name, value in dict(
        shadowing_derivative=0.990, shadowing_error=0.004, finite_difference=1.0201,
        finite_difference_error=0.008, finite_difference_delta=1.4,
        linear_response_derivative=1.0051, linear_response_error=0.0036,
        linear_response_windows=10,
    ).items():  # fmt: skip
        r.put(name, value)
    verdict = str(judge(r))
    assert "The estimates disagree" in verdict and "Shadowing bias" in verdict
    assert "The number to trust: the full linear response (S3)" in verdict
    assert 'data-key="values.linear_response_derivative"' in verdict
    assert r.values["lss_fd_discrepancy"] == pytest.approx(0.0301 / math.hypot(0.004, 0.008))
    assert r.strings["sensitivity_trusted"] == "S3"
    top = str(summary(r))
    row = top[top.index("sensitivity d") :]
    assert row.index("values.linear_response_derivative") < row.index("values.shadowing_derivative")
    assert "full linear response (S3)" in row and "disagree by" in row


def test_jackknife_errors_of_the_exponents():
    from chaosjax.report.lyapunov import batch_errors

    # A run whose 20 batches have known rates: the jackknife error of the mean equals
    # the standard error of the batch rates (a linear statistic).
    rng = np.random.default_rng(0)
    rates = np.stack([0.9 + 0.05 * rng.standard_normal(20), -14.5 + 0.1 * rng.standard_normal(20)])
    steps = np.arange(1, 21) * 100.0
    history = np.cumsum(rates.T * 100.0, axis=0) / steps[:, None]
    err, ky_err, b = batch_errors(history, steps)
    assert b == 20
    np.testing.assert_allclose(err, rates.std(1, ddof=1) / np.sqrt(20), rtol=1e-10)
    assert 0 < ky_err < 0.05
    assert np.isnan(batch_errors(history[:1], steps[:1])[0]).all()


# --------------------------------------------------------------------------- other pages


def test_interactive_page_renders_plotly_figures_without_network(report_dir, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    page = (report_dir / "interactive.html").read_text()
    # Nothing to fetch: no external script, style sheet or image; plotly.js is inside.
    assert not re.search(r"<(script|img|iframe)[^>]+src=\"(https?:)?//", page)
    assert "<link" not in page and "Plotly.newPlot" in page
    assert 'href="interactive.html"' in (report_dir / "index.html").read_text()
    # The numbers are the same spans as on the static page.
    assert page.count('class="num"') == (report_dir / "index.html").read_text().count('class="num"')
    dom = _run_chromium(
        exe,
        tmp_path,
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--virtual-time-budget=15000",
        "--dump-dom",
        (report_dir / "interactive.html").as_uri(),
    ).stdout
    ids = re.findall(r'<div id="(plotly-[a-z0-9-]+)" class="plotly-graph-div js-plotly-plot"', dom)
    expected = ["plotly-attractor", "plotly-orbit-diagram", "plotly-lyapunov"]
    expected += [f"plotly-average-{i}" for i in range(3)]
    assert sorted(ids) == sorted(expected), ids
    for name in expected:
        start = dom.index(f'<div id="{name}"')
        block = dom[start : dom.find("</figure>", start)]
        assert 'class="main-svg"' in block, name  # plotly drew it
    attractor = dom[dom.index('<div id="plotly-attractor"') :]
    attractor = attractor[: attractor.index("</figure>")]
    # The 3-D scene is WebGL: a canvas, or plotly's notice where the browser has none.
    assert "<canvas" in attractor or "WebGL is not supported" in attractor
    # The other figures are still there, embedded.
    assert 'src="data:image/png;base64,' in dom


def test_self_contained_page_embeds_every_figure(tmp_path):
    import base64

    rep.run_report(_tiny(tmp_path, sections=["system", "bifurcation"], self_contained=True))
    html = (tmp_path / "index.html").read_text()
    page = _Page()
    page.feed(html)
    res = load_results(tmp_path)
    assert len(page.images) == len(res["figures"]) == 1
    for src, name in zip(page.images, res["figures"], strict=True):
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix) :]) == (tmp_path / name).read_bytes()
    assert "This page is self-contained" in html
    assert res["config"]["self_contained"] is True and not (tmp_path / "interactive.html").exists()


def test_a_failing_interactive_page_does_not_lose_the_report(tmp_path, monkeypatch):
    from chaosjax.report import interactive

    def broken(r):
        raise RuntimeError("no plotly here")

    monkeypatch.setattr(interactive, "figures", broken)
    summary = rep.run_report(_tiny(tmp_path, sections=["system"], interactive=True))
    assert summary.failed == [] and not (tmp_path / "interactive.html").exists()
    html = (tmp_path / "index.html").read_text()
    assert "The interactive version could not be made: " in html and "no plotly here" in html
    assert 'href="interactive.html"' not in html
