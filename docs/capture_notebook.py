"""Regenerate docs/notebook-bar.html (and, with Chromium, docs/notebook-bar.png).

Runs ``progbar demo`` in a real Jupyter kernel with nbclient, then writes the cell's
outputs as a standalone HTML page — exactly the HTML the kernel sent.  Usage::

    python docs/capture_notebook.py
    chromium --headless --no-sandbox --disable-gpu --disable-background-networking \\
        --no-first-run --hide-scrollbars --window-size=980,600 \\
        --screenshot=docs/notebook-bar.png docs/notebook-bar.html
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
CELLS = [
    """\
from progbar._demo import run_demo
history = run_demo(epochs=3)
""",
    """\
# a bar caught mid-run (a fake clock stands in for a slow loop)
from progbar import Progbar
t = [0.0]
bar = Progbar(1000, clock=lambda: t[0])
for i in range(1, 621):
    t[0] += 0.0125
    bar.update(i, [("loss", 1 / i ** 0.5), ("acc", 0.5 + i / 2500)])
""",
    """\
# nested bars: one output for the block, finished bars and messages kept above
import progbar
t = [0.0]
for epoch in (epochs := progbar.track(range(3), label="epoch", clock=lambda: t[0])):
    for step in (bar := progbar.track(range(200), label="train", clock=lambda: t[0])):
        t[0] += 0.05
        bar.log(loss=0.9 / (1 + epoch + step / 200))
        if epoch == 1 and step == 120:
            bar.write("checkpoint saved")
""",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        spec_dir = Path(home, "kernels", "progbar-docs")
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "progbar docs",
            "language": "python",
            "env": {"PYTHONPATH": str(ROOT)},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        os.environ["JUPYTER_PATH"] = home
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
        nbclient.NotebookClient(nb, kernel_name="progbar-docs", timeout=120).execute()
    cells = []
    for cell in nb.cells:
        parts = [f'<div class="code">{html.escape(cell.source)}</div>']
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(f"<pre>{html.escape(out.text)}</pre>")
            elif "text/html" in out.get("data", {}):
                parts.append(f"<div class='out'>{out.data['text/html']}</div>")
        cells.append(f'<div class="cell">{"".join(parts)}</div>')
    page = f"""<!doctype html><meta charset="utf-8"><title>progbar in a notebook</title>
<style>body{{font-family:sans-serif;margin:16px;background:#fff}}
.cell{{border-left:3px solid #42a5f5;padding:4px 12px;margin-bottom:14px}}
.code{{background:#f5f5f5;padding:8px;font-family:monospace;font-size:13px;white-space:pre}}
pre{{margin:2px 0;font-size:13px}} .out{{margin:2px 0}}</style>
{"".join(cells)}
"""
    target = ROOT / "docs" / "notebook-bar.html"
    target.write_text(page)
    print(f"wrote {target}")
    for out in nb.cells[-1].outputs:  # the nested block as text (the notebooks page shows it)
        print(out.get("data", {}).get("text/plain") or out)


if __name__ == "__main__":
    main()
