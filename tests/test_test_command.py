"""The README's test command passes wherever a framework is missing, CI=true or not.

Many CI services set ``CI=true``; the "no test skipped" rule belongs to ``.ci/run`` alone,
which installs every framework and says so with ``PROGBAR_STRICT_SKIPS=1``.  Each case
runs pytest in a subprocess with torch hidden from it (an import hook given as a plugin),
so the torch cases of tests/test_rank.py skip as they would on a machine without torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

HIDE_TORCH = '''
import sys


class HideTorch:
    """Makes torch look not installed: find_spec and import both fail."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, HideTorch())
'''


def run_suite(tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "hide_torch.py").write_text(HIDE_TORCH, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "PROGBAR_STRICT_SKIPS", "PROGBAR_CORE_ONLY")}
    env.update(env_vars)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tmp_path), str(TESTS.parent), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hide_torch", "-p", "no:cacheprovider",
         "-rs", str(TESTS / "test_rank.py"), "-k", "torch_adapter or in_process"],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.mark.parametrize("ci", ["true", None], ids=["CI=true", "no CI"])
def test_a_missing_framework_skips_with_its_reason(tmp_path: Path, ci: str | None) -> None:
    done = run_suite(tmp_path, **({"CI": ci} if ci else {}))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "1 passed, 3 skipped" in out, out
    assert "needs torch" in out, out


def test_strict_skips_turn_a_skip_into_a_failure(tmp_path: Path) -> None:
    done = run_suite(tmp_path, CI="true", PROGBAR_STRICT_SKIPS="1")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "no test may be skipped" in out, out
    assert "test_torch_adapter_follows_the_same_rule" in out, out
