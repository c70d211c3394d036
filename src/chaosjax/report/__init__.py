"""The end-to-end report: one directory with `index.html`, PNG figures beside it,
`results.json` and `results.nc` holding every number shown, and `config.toml`, the
resolved configuration (run it again with `chaosjax report --config config.toml`);
`self_contained` embeds the figures in the page, `interactive` adds
`interactive.html` with zoomable plotly figures.

The page opens with a summary (`summary`): lambda_1 and the Kaplan-Yorke dimension with
their standard errors, the sensitivity with the method to trust, and the
classification, each with the method and length that produced it.

Sections, one module each: the system and its parameters (`system`); the attractor
(`attractor`: phase portrait, time series, classification); time averages with their
ensemble spread (`averages`: the cumulative-average band); the Lyapunov spectrum with
its convergence and the Kaplan-Yorke dimension (`lyapunov`); sensitivities
(`sensitivity`: the gradient blow-up table next to the shadowing derivative, the
full linear response and a finite difference, with a verdict when they disagree); the
orbit diagram over the main parameter (`bifurcation`); timings and software versions
(`timings`). The options live in `config`, the defaults per system in `selection`,
what a run records in `results`, the HTML templates in `page` and `templates/`, and
the loop over sections in `run`.

```python
from chaosjax.report import ReportConfig, run_report
summary = run_report(ReportConfig(system="lorenz63", out="out"))
```
"""

from .averages import divisor_near as divisor_near
from .config import SECTION_TITLES as SECTION_TITLES
from .config import SECTIONS as SECTIONS
from .config import ReportConfig as ReportConfig
from .config import ReportError as ReportError
from .config import config_keys as config_keys
from .config import merge_config as merge_config
from .config import parse_number as parse_number
from .config import parse_range as parse_range
from .config import read_config as read_config
from .config import to_toml as to_toml
from .results import Section as Section
from .run import ReportSummary as ReportSummary
from .run import prepare_out as prepare_out
from .run import run_report as run_report
from .selection import MAIN_PARAMETER as MAIN_PARAMETER
from .selection import MAIN_RANGE as MAIN_RANGE
from .selection import ensemble_states as ensemble_states
from .selection import load_system_class as load_system_class
from .selection import main_parameter as main_parameter
from .selection import observed_coordinate as observed_coordinate
from .selection import resolve as resolve
from .selection import resolve_system as resolve_system
