"""The README's pictures (docs/images/*.svg, drawn by docs/capture_terminal.py) look in a
browser as they look on the terminal.

A browser collapses runs of plain spaces in SVG text whatever ``xml:space`` says, and a
``textLength`` then stretches what is left over the whole run ("Epoch 1/3" spread
across the picture, segments glued together).  So every run of text is drawn with
no-break spaces, without leading or trailing blanks, and stretched to exactly its own
cells.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
CELL_W = 8.4  # docs/capture_terminal.py's cell width
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.skipif(not IMAGES.is_dir(), reason="docs/images is not in this copy")
@pytest.mark.parametrize("name", ["training.svg", "demo.svg", "nested.svg"])
def test_text_runs_keep_their_spaces_and_their_cells(name: str) -> None:
    root = ET.parse(IMAGES / name).getroot()
    spans = list(root.iter(f"{SVG}tspan"))
    assert spans
    for span in spans:
        text = span.text or ""
        assert text and text == text.strip(" \u00a0"), (name, text)
        assert " " not in text, (name, text)  # plain spaces collapse in a browser
        assert float(span.get("textLength", "0")) == pytest.approx(len(text) * CELL_W)
    rows = ["".join(s.text or "" for s in t.iter(f"{SVG}tspan")) for t in root.iter(f"{SVG}text")]
    assert any(re.search(r"\d+/\d+", row) for row in rows)
