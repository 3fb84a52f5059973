"""Write docs/coming-from-tqdm.md and docs/coming-from-rich.md from the tables below.

Every public argument and helper of the installed tqdm and rich.progress (read with
``inspect`` and ``ast`` by :func:`tqdm_names` / :func:`rich_names`) has a row; a name
missing here, or a row for a name they no longer have, fails ``--check`` and
tests/test_coming_from.py::

    python docs/coming_from.py           # rewrite both pages
    python docs/coming_from.py --check   # exit 1 if a page or a table is behind

tqdm==4.70.1 and rich==15.0.0 (the test and bench extras) are the versions read.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- tqdm

CHAT = ("not planned: posting progress to a chat service needs its network client and a "
        "token; progbar stays a zero-dependency bar for terminals, logs and notebooks")
ITERTOOLS = ("`track(itertools.{name}(...), target=n)`: no wrapper planned, the stdlib "
             "function with a target you know is the same thing")
WARNING = ("none: progbar has no warning classes of its own; it stays silent or raises "
           "`TypeError`/`ValueError` with the accepted values")

TQDM: dict[str, tuple[str, str]] = {
    "tqdm(iterable=)": ("`track(iterable)`", "the same items, in order; `async for` too"),
    "tqdm(desc=)": ("`label=`", "`desc=` is accepted as another name"),
    "tqdm(total=)": ("`target=`", "`total=` is accepted as another name"),
    "tqdm(leave=)": ("`leave=`", ""),
    "tqdm(file=)": ("`file=`", "the default is `sys.stdout` at each write (Keras's), "
                    "not `sys.stderr`"),
    "tqdm(ncols=)": ("automatic", "every line is fitted to the terminal's width at each "
                     "render; `width=` sets the bar's cells"),
    "tqdm(mininterval=)": ("`interval=`", "least seconds between two renders"),
    "tqdm(maxinterval=)": ("automatic", "a ticker thread redraws a loop that slowed "
                           "down within the interval; nothing to tune"),
    "tqdm(miniters=)": ("not planned", "the clock is read once per a stride of calls "
                        "that adapts by itself"),
    "tqdm(ascii=)": ("automatic", "ASCII glyphs where the stream's encoding cannot show "
                     "the bar's; the keras styles draw ASCII"),
    "tqdm(disable=)": ("`disable=`", "the same switch (`verbose=0`); `PROGBAR_DISABLE=1` "
                       "for every bar"),
    "tqdm(unit=)": ("`unit_name=`", ""),
    "tqdm(unit_scale=)": ("`unit_scale=`", "SI prefixes (`1.20/3.50 GB`, `45.1 MB/s`)"),
    "tqdm(dynamic_ncols=)": ("automatic", "fitted again after every resize"),
    "tqdm(smoothing=)": ("not planned", "one rate and ETA estimate per style, no knob"),
    "tqdm(bar_format=)": ("`format=`", "fields `{label} {count} {target} {percent} {bar} "
                          "{elapsed} {eta} {rate} {unit} {metrics}`"),
    "tqdm(initial=)": ("`initial=`", "rate and ETA count only this run's work"),
    "tqdm(position=)": ("automatic", "bars on one stream share a block, one line each, in "
                        "the order they started"),
    "tqdm(postfix=)": ("`bar.log(name=value)`", "metrics, averaged like Keras's (or shown "
                       "as passed with `stateful_metrics=`)"),
    "tqdm(unit_divisor=)": ("`unit_divisor=`", "`1024` gives `KiB`, `MiB`, `GiB`"),
    "tqdm(write_bytes=)": ("not planned", "progbar writes text streams"),
    "tqdm(lock_args=)": ("not planned", "the locks are internal; any thread may call "
                         "`add`, `update`, `log`"),
    "tqdm(nrows=)": ("automatic", "a block never outgrows the terminal: its last row says "
                     "`… +3 more`"),
    "tqdm(colour=)": ("`color=`", "turns colour on or off; the colours are the style's"),
    "tqdm(delay=)": ("`delay=`", "a loop that ends sooner draws nothing at all"),
    "tqdm(gui=)": ("not planned", "no matplotlib window; notebooks get an HTML bar by "
                   "themselves"),
    "tqdm.clear": ("not planned", "`bar.write()` prints above the bar, nothing to clear "
                   "by hand"),
    "tqdm.close": ("`bar.close()`", "also `with Progbar(...) as bar:`"),
    "tqdm.display": ("`bar.refresh()`", ""),
    "tqdm.external_write_mode": ("`progbar.logging_redirect()`", "or `bar.write()`"),
    "tqdm.format_dict": ("`bar.current`, `bar.target`, `bar.metrics()`", ""),
    "tqdm.format_interval": ("not planned", "the bar formats its own times; "
                             "`progbar.format_epoch` formats an epoch line"),
    "tqdm.format_meter": ("`format=`", "the line's template"),
    "tqdm.format_num": ("not planned", "formatting is internal to the styles"),
    "tqdm.format_sizeof": ("`unit_scale=True`", "in the line; no separate helper"),
    "tqdm.get_lock": ("not planned", "the stream's display holds the lock; processes use "
                      "`bar.handle()`"),
    "tqdm.monitor": ("automatic", "the ticker thread, always on"),
    "tqdm.monitor_interval": ("automatic", "the ticker follows each bar's `interval`"),
    "tqdm.moveto": ("not planned", "the block places the lines"),
    "tqdm.pandas": ("`progbar.pandas.register()`", "see docs/everyday.md"),
    "tqdm.refresh": ("`bar.refresh()`", ""),
    "tqdm.reset": ("`bar.reset(target=)`", "back to `initial`, metrics cleared, clock "
                   "restarted"),
    "tqdm.set_description": ("`bar.label = ...`", ""),
    "tqdm.set_description_str": ("`bar.label = ...`", ""),
    "tqdm.set_lock": ("not planned", "see `get_lock`"),
    "tqdm.set_postfix": ("`bar.log(name=value)`", "averaged by default; "
                         "`stateful_metrics=` shows values as passed"),
    "tqdm.set_postfix_str": ("not planned", "metrics are name/value pairs; `bar.write()` "
                             "prints free text"),
    "tqdm.status_printer": ("not planned", "the writer is internal"),
    "tqdm.unpause": ("not planned", "paused time counts, as in Keras"),
    "tqdm.update": ("`bar.add(n)`", "or `bar.update(current)`, Keras's absolute form"),
    "tqdm.wrapattr": ("`progbar.wrap_file(fileobj)`", "see docs/everyday.md"),
    "tqdm.write": ("`bar.write(message)`", ""),
    "tqdm.tqdm_gui": ("not planned", "see `gui=`"),
    "tqdm.trange": ("`track(range(n))`", ""),
    "tqdm.tgrange": ("not planned", "see `gui=`"),
    "tqdm.tqdm_pandas": ("`progbar.pandas.register()`", ""),
    "tqdm.tqdm_notebook": ("`track(...)`", "a notebook is detected; the HTML bar needs no "
                           "other name"),
    "tqdm.tnrange": ("`track(range(n))`", "as `tqdm_notebook`"),
    "tqdm.main": ("`python -m progbar`", "pipe mode: counts lines (or bytes with "
                  "`--bytes`) passing through"),
    "tqdm.TMonitor": ("automatic", "the ticker thread, internal"),
    "tqdm.TqdmTypeError": ("`TypeError`", "bad arguments raise the built-in errors"),
    "tqdm.TqdmKeyError": ("`TypeError`", "an unknown keyword is Python's own `TypeError`"),
    "tqdm.TqdmWarning": ("none", WARNING),
    "tqdm.TqdmDeprecationWarning": ("none", WARNING),
    "tqdm.TqdmExperimentalWarning": ("none", WARNING),
    "tqdm.TqdmMonitorWarning": ("none", WARNING),
    "tqdm.TqdmSynchronisationWarning": ("none", WARNING),
    "tqdm.contrib.tenumerate": ("`enumerate(track(x))`", ""),
    "tqdm.contrib.tzip": ("`zip(track(a), b)`", "the target comes from the first"),
    "tqdm.contrib.tmap": ("`map(fn, track(x))`", "`progbar.map` runs it on a pool"),
    "tqdm.contrib.bells.tqdm": ("`track(...)`", "terminal, log, CI or notebook is detected "
                                "by every bar; pandas through `progbar.pandas.register()`"),
    "tqdm.contrib.bells.trange": ("`track(range(n))`", "as `bells.tqdm`"),
    "tqdm.contrib.concurrent.thread_map": ("`progbar.map(fn, *iterables, workers=)`",
                                           "results in order, the bar moving as items "
                                           "finish"),
    "tqdm.contrib.concurrent.process_map": ("`progbar.map(..., processes=True)`",
                                            "counted in the workers through a handle"),
    "tqdm.contrib.concurrent.interpreter_map": ("not planned", "subinterpreter pools need "
                                                "Python 3.14; progbar supports 3.10-3.13"),
    "tqdm.contrib.logging.logging_redirect_tqdm": ("`progbar.logging_redirect()`", ""),
    "tqdm.contrib.logging.tqdm_logging_redirect": (
        "`with progbar.logging_redirect():` around `track(...)`", ""),
    "tqdm.contrib.utils_worker.MonoWorker": ("not planned", "a helper of the chat bars"),
}
for _service, _io, _range in (("discord", "DiscordIO", "tdrange"),
                              ("slack", "SlackIO", "tsrange"),
                              ("telegram", "TelegramIO", "ttgrange")):
    for _name in (_io, f"tqdm_{_service}", _range, "tqdm", "trange"):
        TQDM[f"tqdm.contrib.{_service}.{_name}"] = ("not planned", CHAT)
for _name in ("chain", "product", "permutations", "combinations",
              "combinations_with_replacement", "batched"):
    TQDM[f"tqdm.contrib.itertools.{_name}"] = ("not planned", ITERTOOLS.format(name=_name))

# --------------------------------------------------------------------------- rich

COLOURS = ("not planned", "the colours are the style's; `color=` turns them on or off, "
           "`style=` picks another style")
RICH: dict[str, tuple[str, str]] = {}
for _fn, _ours in (("track", "`progbar.track(iterable)`"),
                   ("wrap_file", "`progbar.wrap_file(fileobj)`"),
                   ("open", "`progbar.open(path, mode)`")):
    RICH[f"rich.progress.{_fn}"] = (_ours, "")
    RICH.update({
        f"{_fn}(description=)": ("`label=`", ""),
        f"{_fn}(total=)": ("`target=`", "`total=` is accepted too"),
        f"{_fn}(auto_refresh=)": ("automatic", "a ticker thread redraws on time"),
        f"{_fn}(console=)": ("`file=`", "any text stream"),
        f"{_fn}(transient=)": ("`leave=False`", ""),
        f"{_fn}(get_time=)": ("`clock=`", ""),
        f"{_fn}(refresh_per_second=)": ("`interval=`", "seconds between renders: "
                                        "`1 / refresh_per_second`"),
        f"{_fn}(style=)": COLOURS,
        f"{_fn}(complete_style=)": COLOURS,
        f"{_fn}(finished_style=)": COLOURS,
        f"{_fn}(pulse_style=)": COLOURS,
        f"{_fn}(disable=)": ("`disable=`", "(`verbose=0`)"),
    })
RICH.update({
    "track(sequence=)": ("`track(iterable)`", ""),
    "track(completed=)": ("`initial=`", ""),
    "track(update_period=)": ("`interval=`", ""),
    "track(show_speed=)": ("automatic", "the default line shows the rate"),
    "wrap_file(file=)": ("`wrap_file(fileobj)`", ""),
    "open(file=)": ("`progbar.open(path)`", ""),
    "open(mode=)": ("`mode=`", "text modes count the bytes underneath"),
    "open(buffering=)": ("`buffering=`", ""),
    "open(encoding=)": ("`encoding=`", ""),
    "open(errors=)": ("`errors=`", ""),
    "open(newline=)": ("`newline=`", ""),
    "Progress": ("several `Progbar`s", "bars on one stream share a block by themselves: "
                 "no container object"),
    "Progress(*columns)": ("`format=`", "a template of fields instead of column objects"),
    "Progress(console=)": ("`file=`", ""),
    "Progress(auto_refresh=)": ("automatic", "a ticker thread redraws on time"),
    "Progress(refresh_per_second=)": ("`interval=`", "`1 / refresh_per_second`"),
    "Progress(speed_estimate_period=)": ("not planned", "one estimate per style, no knob"),
    "Progress(transient=)": ("`leave=False`", "per bar"),
    "Progress(redirect_stdout=)": ("`progbar.logging_redirect(stdout=True)`", ""),
    "Progress(redirect_stderr=)": ("`progbar.logging_redirect()`", "logging records go "
                                   "above the bar; other stderr text is left alone"),
    "Progress(get_time=)": ("`clock=`", "per bar"),
    "Progress(disable=)": ("`verbose=0`", "per bar, or `PROGBAR_DISABLE=1`"),
    "Progress(expand=)": ("automatic", "the line is fitted to the terminal; `{bar}` takes "
                          "the width left"),
    "Progress.add_task": ("`Progbar(target, label=...)`", "a new bar joins the block"),
    "Progress.add_task(description=)": ("`label=`", ""),
    "Progress.add_task(start=)": ("not planned", "a bar's clock starts when it is made; "
                                  "make it when the work starts"),
    "Progress.add_task(total=)": ("`target=`", ""),
    "Progress.add_task(completed=)": ("`initial=`", ""),
    "Progress.add_task(visible=)": ("`verbose=0`", ""),
    "Progress.add_task(fields=)": ("`bar.log(name=value)`", "metrics shown on the line"),
    "Progress.advance": ("`bar.add(n)`", ""),
    "Progress.advance(task_id=)": ("the bar itself", "each bar is its own object"),
    "Progress.advance(advance=)": ("`bar.add(n)`", ""),
    "Progress.console": ("`bar.stream`", ""),
    "Progress.finished": ("`bar.closed`", ""),
    "Progress.get_default_columns": ("not planned", "no column objects; `format=`"),
    "Progress.get_renderable": ("not planned", "rich's rendering internals"),
    "Progress.get_renderables": ("not planned", "rich's rendering internals"),
    "Progress.make_tasks_table": ("not planned", "rich's rendering internals"),
    "Progress.make_tasks_table(tasks=)": ("not planned", "rich's rendering internals"),
    "Progress.open": ("`progbar.open(path, mode)`", ""),
    "Progress.open(file=)": ("`progbar.open(path)`", ""),
    "Progress.open(mode=)": ("`mode=`", ""),
    "Progress.open(buffering=)": ("`buffering=`", ""),
    "Progress.open(encoding=)": ("`encoding=`", ""),
    "Progress.open(errors=)": ("`errors=`", ""),
    "Progress.open(newline=)": ("`newline=`", ""),
    "Progress.open(total=)": ("`target=`", ""),
    "Progress.open(task_id=)": ("the bar itself", "each file gets its own bar"),
    "Progress.open(description=)": ("`label=`", ""),
    "Progress.refresh": ("`bar.refresh()`", ""),
    "Progress.remove_task": ("`bar.close()`", "with `leave=False` its line goes away"),
    "Progress.remove_task(task_id=)": ("the bar itself", ""),
    "Progress.reset": ("`bar.reset(target=)`", ""),
    "Progress.reset(task_id=)": ("the bar itself", ""),
    "Progress.reset(start=)": ("not planned", "the clock restarts at `reset()`"),
    "Progress.reset(total=)": ("`bar.reset(target=)`", ""),
    "Progress.reset(completed=)": ("`initial=`", "a reset goes back to it"),
    "Progress.reset(visible=)": ("not planned", "a bar is shown or not for its life "
                                 "(`verbose=`)"),
    "Progress.reset(description=)": ("`bar.label = ...`", ""),
    "Progress.reset(fields=)": ("not planned", "`reset()` clears the metrics"),
    "Progress.start": ("automatic", "a bar draws when it is made (after `delay=`)"),
    "Progress.start_task": ("not planned", "see `add_task(start=)`"),
    "Progress.start_task(task_id=)": ("not planned", "see `add_task(start=)`"),
    "Progress.stop": ("`bar.close()`", "each bar, or `with` blocks"),
    "Progress.stop_task": ("`bar.close()`", ""),
    "Progress.stop_task(task_id=)": ("the bar itself", ""),
    "Progress.task_ids": ("not planned", "keep the bars you made"),
    "Progress.tasks": ("not planned", "keep the bars you made"),
    "Progress.track": ("`progbar.track(iterable)`", ""),
    "Progress.track(sequence=)": ("`track(iterable)`", ""),
    "Progress.track(total=)": ("`target=`", ""),
    "Progress.track(completed=)": ("`initial=`", ""),
    "Progress.track(task_id=)": ("the bar itself", ""),
    "Progress.track(description=)": ("`label=`", ""),
    "Progress.track(update_period=)": ("`interval=`", ""),
    "Progress.update": ("`bar.update(current)`", ""),
    "Progress.update(task_id=)": ("the bar itself", ""),
    "Progress.update(total=)": ("`bar.target = n`", ""),
    "Progress.update(completed=)": ("`bar.update(current)`", ""),
    "Progress.update(advance=)": ("`bar.add(n)`", ""),
    "Progress.update(description=)": ("`bar.label = ...`", ""),
    "Progress.update(visible=)": ("not planned", "see `reset(visible=)`"),
    "Progress.update(refresh=)": ("`bar.refresh()`", ""),
    "Progress.update(fields=)": ("`bar.log(name=value)`", ""),
    "Progress.wrap_file": ("`progbar.wrap_file(fileobj)`", ""),
    "Progress.wrap_file(file=)": ("`wrap_file(fileobj)`", ""),
    "Progress.wrap_file(total=)": ("`target=`", ""),
    "Progress.wrap_file(task_id=)": ("the bar itself", ""),
    "Progress.wrap_file(description=)": ("`label=`", ""),
    "rich.progress.BarColumn": ("`{bar}`", "in `format=`"),
    "rich.progress.DownloadColumn": ("`{count}/{target}` with `unit_scale=True`", ""),
    "rich.progress.FileSizeColumn": ("`{count}` with `unit_scale=True`", ""),
    "rich.progress.MofNCompleteColumn": ("`{count}/{target}`", ""),
    "rich.progress.ProgressColumn": ("not planned", "fields of `format=`, no column classes"),
    "rich.progress.RenderableColumn": ("not planned", "text in `format=`, or `{label}`"),
    "rich.progress.SpinnerColumn": ("not planned", "a bar of unknown target shows its "
                                    "count and rate"),
    "rich.progress.TaskProgressColumn": ("`{percent}`", ""),
    "rich.progress.TextColumn": ("text in `format=`", "and `{label}`"),
    "rich.progress.TimeElapsedColumn": ("`{elapsed}`", ""),
    "rich.progress.TimeRemainingColumn": ("`{eta}`", ""),
    "rich.progress.TotalFileSizeColumn": ("`{target}` with `unit_scale=True`", ""),
    "rich.progress.TransferSpeedColumn": ("`{rate}` with `unit_scale=True`", ""),
})

# --------------------------------------------------------------------------- the names


def _params(prefix: str, fn: Any, skip_kwargs: bool = False) -> list[str]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            out.append(f"{prefix}(*{p.name})")
        elif p.kind is p.VAR_KEYWORD:
            if not skip_kwargs:
                out.append(f"{prefix}({p.name}=)")
        else:
            out.append(f"{prefix}({p.name}=)")
    return out


def tqdm_names() -> list[str]:
    """tqdm's __init__ parameters, tqdm.tqdm's public attributes, the names tqdm
    exports, and every public name of each tqdm.contrib module (read with ast: some
    import a chat client at their top)."""
    import tqdm
    import tqdm.contrib

    cls = tqdm.tqdm
    # **kwargs of tqdm() only raises TqdmKeyError for an unknown name
    out = _params("tqdm", cls.__init__, skip_kwargs=True)
    out += [f"tqdm.{n}" for n in sorted(dir(cls)) if not n.startswith("_")]
    out += [f"tqdm.{n}" for n in tqdm.__all__ if n not in ("tqdm", "__version__")]
    for path in sorted(Path(tqdm.contrib.__file__).parent.glob("*.py")):
        module = "tqdm.contrib" + ("" if path.stem == "__init__" else f".{path.stem}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                names = list(ast.literal_eval(node.value))
        if names is None:
            names = sorted(n.name for n in tree.body
                           if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                           and not n.name.startswith("_"))
        out += [f"{module}.{n}" for n in names]
    return out


def rich_names() -> list[str]:
    """rich.progress's track, wrap_file and open with their parameters, Progress with
    its parameters and each public method's, and the column classes."""
    import rich.progress as rp

    out = []
    for fn in (rp.track, rp.wrap_file, rp.open):
        out.append(f"rich.progress.{fn.__name__}")
        out += _params(fn.__name__, fn)
    out.append("Progress")
    out += _params("Progress", rp.Progress.__init__)
    for name, attr in sorted(vars(rp.Progress).items()):
        if name.startswith("_"):
            continue
        out.append(f"Progress.{name}")
        if inspect.isfunction(attr):
            out += _params(f"Progress.{name}", attr)
    out += [f"rich.progress.{n}" for n in sorted(dir(rp))
            if inspect.isclass(getattr(rp, n)) and issubclass(getattr(rp, n), rp.ProgressColumn)]
    return out


# --------------------------------------------------------------------------- the pages

INTRO = {
    "tqdm": """# Coming from tqdm

Every public argument of `tqdm.tqdm`, its methods, the names `tqdm` exports and the
helpers of `tqdm.contrib.*` (tqdm 4.70.1), with what to write here instead, or why it
is not planned.  A loop ports by changing `tqdm(` to `track(`: `total=` and `desc=`
are accepted as they are.  Generated by `docs/coming_from.py` from the installed tqdm's
signatures; `tests/test_coming_from.py` fails when a name is missing.
""",
    "rich": """# Coming from rich

Every public argument of `rich.progress.track`, `wrap_file` and `open`, of `Progress`
and each of its methods, and the column classes (rich 15.0.0), with what to write here
instead, or why it is not planned.  There is no `Progress` container: bars on one
stream share a block by themselves, one line each.  Generated by `docs/coming_from.py`
from the installed rich's signatures; `tests/test_coming_from.py` fails when a name is
missing.
""",
}


def page(which: str) -> str:
    table, names = (TQDM, tqdm_names()) if which == "tqdm" else (RICH, rich_names())
    head = "tqdm" if which == "tqdm" else "rich.progress"
    lines = [INTRO[which], f"| {head} | progbar | notes |", "| --- | --- | --- |"]
    for name in names:
        ours, why = table.get(name, ("?", "missing from docs/coming_from.py"))
        lines.append(f"| `{name}` | {ours} | {why} |")
    return "\n".join(lines) + "\n"


def problems() -> list[str]:
    """Names without a row, rows without a name, and pages not as generated."""
    out = []
    for which, table, names in (("tqdm", TQDM, tqdm_names()), ("rich", RICH, rich_names())):
        out += [f"{which}: no row for {n}" for n in names if n not in table]
        out += [f"{which}: a row for {n}, which it no longer has" for n in table
                if n not in names]
        path = DOCS / f"coming-from-{which}.md"
        if not path.exists() or path.read_text(encoding="utf-8") != page(which):
            out.append(f"{path.name} is not as generated: run python docs/coming_from.py")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; write nothing")
    if ap.parse_args().check:
        found = problems()
        print("\n".join(found) or "coming-from pages are complete and current")
        return 1 if found else 0
    for which in ("tqdm", "rich"):
        (DOCS / f"coming-from-{which}.md").write_text(page(which), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
