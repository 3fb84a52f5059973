"""Pure HTML for the notebook bar: (line text, fraction) -> an HTML fragment.

No I/O and no IPython here; :class:`progbar._writer.NotebookWriter` sends the result
through IPython's display machinery.  Styles are inline so the fragment renders the
same in JupyterLab, classic Notebook, VS Code and a saved ``.ipynb`` turned into HTML.
"""

from __future__ import annotations

__all__ = ["escape", "format_html_bar", "format_html_message"]


def escape(text: str) -> str:
    """``html.escape`` without importing ``html`` (and ``re``) at ``import progbar``."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("'", "&#x27;")
    )

_TRACK = "#e4e4e7"
_FILL = "#2e7d32"  # Keras's green, darker so white text stays readable beside it
_FILL_FAILED = "#c62828"


def format_html_bar(text: str, fraction: float | None, final: bool, width_em: int = 16) -> str:
    """One bar: a filled track (when the target is known) followed by ``text``.

    ``fraction`` is clamped to [0, 1]; None (unknown target) draws no track.  A bar
    that ends short of its target (``final`` below 1) is filled in red, as
    ``tqdm.notebook`` does, so an interrupted loop is visible at a glance.
    """
    parts = [
        '<div class="progbar" style="display:flex;align-items:center;gap:0.75em;'
        'font-family:var(--jp-code-font-family,monospace);font-size:13px;'
        'line-height:1.6">'
    ]
    if fraction is not None:
        frac = min(max(float(fraction), 0.0), 1.0)
        fill = _FILL_FAILED if final and frac < 1.0 else _FILL
        parts.append(
            f'<div role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{frac * 100:.0f}" style="flex:none;width:{width_em}em;'
            f"height:0.8em;background:{_TRACK};border-radius:0.4em;overflow:hidden\">"
            f'<div style="width:{frac * 100:.2f}%;height:100%;background:{fill}"></div>'
            "</div>"
        )
    # pre-wrap: keep the column padding, but let many metrics wrap, not overflow
    parts.append(f'<span style="white-space:pre-wrap">{escape(text)}</span></div>')
    return "".join(parts)


def format_html_message(text: str) -> str:
    """A line written with ``bar.write()`` while bars are live: kept above them."""
    return (
        '<div class="progbar-message" style="font-family:var(--jp-code-font-family,'
        f'monospace);font-size:13px;line-height:1.6;white-space:pre-wrap">{escape(text)}</div>'
    )
