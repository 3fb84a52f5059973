"""A pytest plugin that records what the reliability tests tried, for docs/reliability.md.

Loaded by ``tests/conftest.py`` in every run; where ``PROGBAR_RELIABILITY_JSON`` names
a file it writes ``{"rows": [{"area", "what", "cases", "outcome", "tests"}], "seconds"}``
there (the seconds the reliability tests took).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from support.reliability import CASES

_results: dict[str, dict[str, Any]] = {}
_seconds = [0.0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    fn = getattr(item, "function", None)
    tag = getattr(fn, "_reliability", None)
    if tag is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _results[item.nodeid] = {
            "area": tag[0],
            "what": tag[1],
            "outcome": report.outcome,
        }
    if report.when == "call":
        _seconds[0] += report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("PROGBAR_RELIABILITY_JSON")
    if not path:
        return
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for nodeid, res in _results.items():
        key = (res["area"], res["what"])
        row = rows.setdefault(
            key, {"area": key[0], "what": key[1], "cases": 0, "tests": 0,
                  "passed": 0, "failed": 0, "skipped": 0}
        )
        row["tests"] += 1
        row["cases"] += CASES.get(nodeid, 0) or 1
        row[res["outcome"]] += 1
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"rows": list(rows.values()), "seconds": _seconds[0]}, f, indent=1)
