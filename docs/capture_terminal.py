"""Capture real runs on a pseudo-terminal and draw the screens as SVG pictures.

Each example runs on a real pseudo-terminal; what it wrote is fed to pyte, and the
screen -- characters and colours -- is drawn as an SVG (no hand-made picture)::

    python docs/capture_terminal.py           # writes docs/images/*.svg
    python docs/capture_terminal.py --print   # prints the screens as text instead

``training.svg`` is a Keras-style loop (``update()`` per step, validation metrics at the
end of each epoch) caught mid-epoch, with an injected clock. ``demo.svg`` is
``progbar demo`` itself, on the real clock, at its end. ``nested.svg`` is the nested
loop of docs/several-bars.md mid-run, with an injected clock.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import pyte

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.ptyscreen import run_with_checkpoints  # noqa: E402

TRAINING = """
import math
from progbar import Progbar, format_epoch
clock = Clock()

for epoch in range(1, 4):
    print(format_epoch(epoch, 3))
    bar = Progbar(250, clock=clock)
    for step in range(1, 251):
        clock.t += 0.083  # one training step
        loss = 0.6 * math.exp(-(epoch - 1 + step / 250) / 1.5) + 0.08
        bar.update(step, [("loss", loss), ("acc", 1 - 0.5 * loss)], finalize=False)
        if epoch == 3 and step == 160:
            checkpoint("mid")
    bar.update(250, [("val_loss", loss * 1.1), ("val_acc", 1 - 0.55 * loss)], finalize=True)
"""

DEMO = """
from progbar.__main__ import main
main(["demo"])
"""

NESTED = """
from progbar import track
clock = Clock()

for epoch in (epochs := track(range(3), label="epoch", clock=clock)):
    for batch in (bar := track(range(200), label="train", clock=clock)):
        clock.t += 0.05  # one training step
        bar.log(loss=0.9 / (1 + epoch + batch / 200), acc=0.6 + 0.1 * epoch)
        if epoch == 1 and batch == 120:
            bar.write("checkpoint saved")
            checkpoint("mid")
"""

THREADS = """
import threading
from progbar import Progbar
clock = Clock()
ready, go = threading.Barrier(5), threading.Event()

def download(i, size):
    with Progbar(size, label=f"shard {i}", unit_name="MB", clock=clock) as bar:
        for k in range(1, size // (i + 2) + 1):
            clock.t += 0.01
            bar.update(k)
        ready.wait()
        go.wait()
        bar.update(size)

threads = [threading.Thread(target=download, args=(i, 400)) for i in range(4)]
for t in threads:
    t.start()
ready.wait()
checkpoint("mid")
go.set()
for t in threads:
    t.join()
"""

# A dark terminal's palette (the xterm names pyte reports).
PALETTE = {
    "default": "#d0d0d0", "black": "#2e3436", "red": "#ef2929", "green": "#8ae234",
    "brown": "#fce94f", "yellow": "#fce94f", "blue": "#729fcf", "magenta": "#ad7fa8",
    "cyan": "#34e2e2", "white": "#eeeeec", "brightblack": "#7f7f7f", "brightred": "#ff6b6b",
    "brightgreen": "#b5f07a", "brightyellow": "#fff68f", "brightblue": "#9fc5f8",
    "brightmagenta": "#d7a8d0", "brightcyan": "#87ffff", "brightwhite": "#ffffff",
}
BACKGROUND = "#1e1e1e"
CELL_W, CELL_H, FONT = 8.4, 18, 14


def _colour(name: str) -> str:
    if name in PALETTE:
        return PALETTE[name]
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return "#" + name
    return PALETTE["default"]


def screen_of(raw: bytes, cols: int, rows: int) -> pyte.Screen:
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(raw)
    return screen


def svg(screen: pyte.Screen, title: str) -> str:
    """The screen's non-blank rows as an SVG: one ``<text>`` per row, one ``<tspan>`` per
    run of cells of one colour, each stretched to its cells so the columns line up."""
    rows = [y for y in range(screen.lines) if "".join(
        screen.buffer[y][x].data for x in range(screen.columns)).strip()]
    last_col = max((len("".join(screen.buffer[y][x].data for x in range(screen.columns))
                        .rstrip()) for y in rows), default=1)
    width = int(last_col * CELL_W + 2 * 12)
    height = int(len(rows) * CELL_H + 2 * 12 + 22)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
        f"<title>{html.escape(title)}</title>",
        f'<rect width="100%" height="100%" rx="6" fill="{BACKGROUND}"/>',
        '<circle cx="16" cy="12" r="4.5" fill="#ff5f56"/>'
        '<circle cx="31" cy="12" r="4.5" fill="#ffbd2e"/>'
        '<circle cx="46" cy="12" r="4.5" fill="#27c93f"/>',
        f'<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}" '
        'xml:space="preserve">',
    ]
    for i, y in enumerate(rows):
        line = screen.buffer[y]
        base = 12 + 22 + i * CELL_H + FONT - 2
        out.append(f'<text y="{base}">')
        x = 0
        while x < last_col:
            char = line[x]
            fg = "default" if char.fg == "default" and not char.bold else char.fg
            start, text = x, []
            while x < last_col and line[x].fg == char.fg and line[x].bold == char.bold:
                text.append(line[x].data or " ")
                x += 1
            run = "".join(text)
            body = run.strip(" ")
            if not body:
                continue
            start += len(run) - len(run.lstrip(" "))
            weight = ' font-weight="bold"' if char.bold else ""
            # Spaces as no-break spaces: a browser collapses runs of plain spaces in SVG
            # text whatever xml:space says, and textLength would then stretch what is
            # left over the whole run (rich's SVG export does the same for this reason).
            shown = html.escape(body).replace(" ", "&#160;")
            out.append(
                f'<tspan x="{12 + start * CELL_W:.1f}" textLength="{len(body) * CELL_W:.1f}" '
                f'lengthAdjust="spacingAndGlyphs" fill="{_colour(fg)}"{weight}>'
                f"{shown}</tspan>")
        out.append("</text>")
    out += ["</g>", "</svg>", ""]
    return "\n".join(out)


def write_pictures(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    training = run_with_checkpoints(TRAINING, cols=100, rows=12, env={"FORCE_COLOR": "1"})
    path = out_dir / "training.svg"
    path.write_text(svg(screen_of(training.raw[:training.offsets["mid"]], 100, 12),
                        "three epochs of training in a terminal, the third one live"),
                    encoding="utf-8")
    written.append(path)
    demo = run_with_checkpoints(DEMO, cols=120, rows=24, env={"FORCE_COLOR": "1"},
                                timeout=600)
    path = out_dir / "demo.svg"
    path.write_text(svg(screen_of(demo.raw, 120, 24), "progbar demo in a terminal"),
                    encoding="utf-8")
    written.append(path)
    nested = run_with_checkpoints(NESTED, cols=80, rows=12, env={"FORCE_COLOR": "1"})
    path = out_dir / "nested.svg"
    path.write_text(svg(screen_of(nested.raw[:nested.offsets["mid"]], 80, 12),
                        "an epoch bar above a step bar, mid-run"), encoding="utf-8")
    written.append(path)
    return written


def show(title: str, code: str) -> None:
    run = run_with_checkpoints(code, cols=80, rows=12)
    print(f"--- {title}: mid-run")
    print("\n".join(run.rows("mid")))
    print(f"--- {title}: at the end")
    print("\n".join(run.rows()))


if __name__ == "__main__":
    if "--print" in sys.argv:
        show("nested", NESTED)
        show("threads", THREADS)
    else:
        for written in write_pictures(HERE / "images"):
            print(f"wrote {written.relative_to(HERE.parent)}")
