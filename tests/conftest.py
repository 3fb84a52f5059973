import importlib
import importlib.util
import io
import os
import threading
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, settings

# Keras 3 runs on the torch backend (CPU) in the tests.
os.environ.setdefault("KERAS_BACKEND", "torch")
# Keep the user's environment out of detection unless a test sets it: the launcher's
# rank variables too (a test run under torchrun or srun would otherwise be silent).
for _name in ("PROGBAR_DYNAMIC", "PROGBAR_DISABLE", "PROGBAR_LOG_INTERVAL", "NO_COLOR",
              "FORCE_COLOR", "PROGBAR_ALL_RANKS", "RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK",
              "MV2_COMM_WORLD_RANK", "SLURM_PROCID", "SLURM_NTASKS", "JSM_NAMESPACE_RANK",
              # the terminal's progress indicator and the stall watch
              "PROGBAR_TERMINAL_PROGRESS", "PROGBAR_STALL_AFTER", "PROGBAR_STALL_DUMP",
              "WT_SESSION", "ConEmuANSI", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "TMUX",
              "STY"):
    os.environ.pop(_name, None)
# The suite's own bars never publish for `progbar watch` (tests/test_watch.py turns it
# on for the jobs it starts): a long test would otherwise leave sockets to find.
os.environ["PROGBAR_WATCH"] = "0"

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

# --------------------------------------------------------------------------- core / frameworks
#
# The core suite needs no framework and runs on every supported Python
# (PROGBAR_CORE_ONLY=1, see .ci/run); the framework suites run on 3.11, where the
# pinned wheels are.  A module listed here needs a framework as a whole; a core module
# with a case or two that needs one marks them with `needs(...)` or `optional_import`.
FRAMEWORK_MODULES = [
    "test_adapter_keras.py",
    "test_adapter_keras_backends.py",
    "test_adapter_lightning.py",
    "test_adapter_tf_keras.py",
    "test_adapter_torch.py",
    "test_adapter_transformers.py",
    "test_dask.py",
    "test_jax_metrics.py",
    "test_keras_diff.py",
    "test_notebook.py",
    "test_pandas.py",
    "test_ray.py",
    "test_tf_keras_diff.py",
]
# Slow modules, run once (the main run, 3.11) rather than in every core suite: real
# jobs that must run past progbar watch's two seconds, about a minute in all.
SLOW_MODULES = [
    "test_watch.py",
]
CORE_ONLY = os.environ.get("PROGBAR_CORE_ONLY") == "1"
collect_ignore = FRAMEWORK_MODULES + SLOW_MODULES if CORE_ONLY else []


def optional_import(name: str) -> Any:
    """The module, or None where it is not installed (core-only runs)."""
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # "torch.utils.data" without torch
        return True


def needs(*modules: str) -> Callable[[Any], Any]:
    """Skip a test, with the reason, where a framework it needs is not installed.  The
    core suite (PROGBAR_CORE_ONLY=1) leaves such a case out instead: it runs where the
    frameworks are (3.11 in CI), so no CI run reports a skip."""
    missing = [m for m in modules if _missing(m)]
    if missing and CORE_ONLY:
        return pytest.mark.framework_case
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


def pytest_configure(config: pytest.Config) -> None:
    # What the reliability tests tried, for docs/reliability.md: written only where
    # PROGBAR_RELIABILITY_JSON names a file (.ci/run's main run; see
    # tests/reliability_report.py), so the page comes from that run, not a second one.
    config.pluginmanager.import_plugin("support.reliability_plugin")
    config.addinivalue_line(
        "markers", "framework_case: needs a framework; left out of the core suite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    left_out = [item for item in items if item.get_closest_marker("framework_case")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("framework_case")]


# --------------------------------------------------------------------------- no skips in .ci/run

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


# .ci/run first runs the README's command with the test extra alone, where the tests of
# the other extras' frameworks skip; PROGBAR_SKIPPED_FILE has that run list the files
# that skipped something.  It then installs every framework and runs those files again
# with PROGBAR_STRICT_SKIPS=1: a skipped test there is a missing install step, not a
# pass.  Anywhere else -- a newcomer's machine, another CI service that sets CI=true --
# a test whose framework is absent skips with its reason.
STRICT_SKIPS = os.environ.get("PROGBAR_STRICT_SKIPS") == "1"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    listing = os.environ.get("PROGBAR_SKIPPED_FILE")
    if listing:
        files = sorted({line.split("::", 1)[0].split(":", 1)[0] for line in _skipped})
        with open(listing, "w", encoding="utf-8") as f:
            f.write("".join(name + "\n" for name in files))
    if STRICT_SKIPS and not CORE_ONLY and _skipped:
        print("\nPROGBAR_STRICT_SKIPS=1: no test may be skipped, but these were:")
        for line in _skipped:
            print("  " + line)
        session.exitstatus = 1


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:  # Keras reads `time.time()`
        return self.now


class Screen(io.StringIO):
    """A live stream that lets a test wait until a given text has been drawn."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.seen = threading.Event()

    def write(self, text: str) -> int:
        if self.wanted in text:
            self.seen.set()
        return super().write(text)
