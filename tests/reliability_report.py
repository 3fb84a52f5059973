"""Run the reliability tests and print the README "Reliability" section from their results.

    python tests/reliability_report.py            # print the markdown
    python tests/reliability_report.py --write    # also put it into README.md

The table is filled from the tests themselves: each test is tagged with what it tries
(``_reliability.reliability``) and counts its cases (``tick``); ``reliability_plugin``
records the outcome of every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FILES = ["test_properties.py", "test_bad_input.py", "test_faults.py", "test_load.py",
         "test_fuzz.py"]
AREAS = ["Properties", "Bad input", "Faults", "Load", "Fuzzing"]


def run() -> tuple[dict[str, object], float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reliability.json"
        env = dict(os.environ, PROGBAR_RELIABILITY_JSON=str(out))
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "reliability_plugin",
             *[str(HERE / f) for f in FILES]],
            cwd=REPO, env=env,
        )
        seconds = time.monotonic() - start
        return json.loads(out.read_text()), seconds, proc.returncode


def outcome(row: dict[str, int]) -> str:
    if row["failed"]:
        return f"**{row['failed']} of {row['tests']} tests failed**"
    if row["skipped"] and not row["passed"]:
        return "skipped"
    return "pass" + (f" ({row['skipped']} skipped)" if row["skipped"] else "")


def markdown(data: dict[str, object], seconds: float) -> str:
    rows = sorted(data["rows"], key=lambda r: (AREAS.index(r["area"]), r["what"]))  # type: ignore[index,arg-type]
    total = sum(r["cases"] for r in rows)
    lines = [
        "## Reliability",
        "",
        "A progress bar runs inside somebody's week-long training job: it must never be",
        "the thing that kills it, and never lie about the count.  This table is generated",
        "by `python tests/reliability_report.py` from the test run itself (hypothesis",
        "profile `ci`: derandomized, 200 examples per property).",
        "",
        "| area | what was tried | cases | outcome |",
        "| --- | --- | ---: | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['area']} | {r['what']} | {r['cases']:,} | {outcome(r)} |")
    lines += [
        "",
        f"{total:,} cases in {len(rows)} groups, {seconds:.0f} s on this machine.  "
        "Programming errors (a negative, non-numeric or non-finite `target`, a non-number or "
        "non-finite `current`, malformed `values`, bad options) raise `ValueError`/"
        "`TypeError` at the call; everything else is displayed and never raises.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    data, seconds, code = run()
    text = markdown(data, seconds)
    print(text)
    if "--write" in sys.argv:
        readme = REPO / "README.md"
        old = readme.read_text(encoding="utf-8")
        begin, end = "<!-- reliability:begin -->\n", "<!-- reliability:end -->"
        head, _, rest = old.partition(begin)
        _, found, tail = rest.partition(end)
        if not found:
            print("README.md has no reliability markers", file=sys.stderr)
            return 1
        readme.write_text(head + begin + text + end + tail, encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
