"""docs/coming-from-tqdm.md and docs/coming-from-rich.md list every public argument and
helper of the installed tqdm and rich.progress, and are as docs/coming_from.py writes them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from conftest import needs

pytestmark = needs("tqdm", "rich")

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "coming_from.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coming_from", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_name_has_a_row_and_the_pages_are_current() -> None:
    assert load().problems() == []


@pytest.mark.parametrize("table, name", [("TQDM", "tqdm(unit_scale=)"),
                                         ("TQDM", "tqdm.contrib.concurrent.thread_map"),
                                         ("RICH", "Progress.update(advance=)"),
                                         ("RICH", "rich.progress.TransferSpeedColumn")])
def test_a_name_left_out_fails(table: str, name: str) -> None:
    module = load()
    del getattr(module, table)[name]
    found = module.problems()
    assert any(name in problem for problem in found), found


def test_the_names_come_from_the_installed_signatures() -> None:
    module = load()
    tqdm_names, rich_names = module.tqdm_names(), module.rich_names()
    assert "tqdm(bar_format=)" in tqdm_names and "tqdm.set_postfix" in tqdm_names
    assert "tqdm.contrib.slack.tqdm_slack" in tqdm_names  # read with ast: slack_sdk absent
    assert "Progress(*columns)" in rich_names and "open(encoding=)" in rich_names
    assert len(tqdm_names) == len(set(tqdm_names)) and len(rich_names) == len(set(rich_names))
