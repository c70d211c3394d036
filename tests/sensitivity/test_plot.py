"""The blow-up figure renders from a table."""

import jax

import chaosjax as cj
import chaosjax.plot as cjp


def test_blowup_plot_is_log_scale(tmp_path):
    lor = cj.systems.Lorenz63()
    x0 = cj.final_state(lor, lor.sample_state(jax.random.PRNGKey(0), 8), steps=2000, dt=0.005)
    tab = cj.sensitivity_blowup_table(
        lor, "rho", lambda x: x[2], horizons=(0.5, 2.0, 5.0), x0=x0, dt=0.005
    )
    fig = cjp.sensitivity_blowup(tab, reference=cj.sensitivity.PUBLISHED_BLOWUP_TABLE)
    assert fig.axes[0].get_yscale() == "log"
    fig.savefig(tmp_path / "blowup.png")
    assert (tmp_path / "blowup.png").stat().st_size > 1000
