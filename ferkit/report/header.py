"""The report's header: facts about the run from ``run.json``, the config and the history."""
from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path

from ferkit.report.format import escape, format_duration, format_number, humanise, plain
from ferkit.report.scan import read_json
from ferkit.runs import RunDir

#: ``run.json`` keys shown in their own rows (or, for the record's stamp, not at all); any
#: other key gets a row of its own, titled from its name.
KNOWN_RUN_KEYS = ("name", "seconds", "epochs_run", "evaluated_on", "split_sizes", "classes",
                  "aus", "image_size", "channels", "model", "parameters", "best_model",
                  "finished", "date", "started", "format", "version")


def chips(values: Iterable[object]) -> str:
    """Each value as a small rounded label."""
    return "".join(f'<span class="chip">{escape(v)}</span>' for v in values)


def facts_table(rows: list[tuple[str, str]]) -> str:
    """A two-column fact table; values are HTML already escaped by the caller."""
    body = "".join(f"<tr><th scope=\"row\">{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def header_html(name: str, rows: list[tuple[str, str]]) -> str:
    """The page header: the run's name over its fact table."""
    return (f'<header><p class="kicker">ferkit run report</p><h1>{escape(name)}</h1>'
            f"{facts_table(rows)}</header>")


def _split_text(sizes: Mapping[str, object]) -> str:
    order = {"train": 0, "val": 1, "test": 2}
    names = sorted(sizes, key=lambda name: (order.get(name, 3), name))
    total = sum(v for v in sizes.values() if isinstance(v, numbers.Number))
    parts = [f"<b>{escape(name)}</b> {escape(sizes[name])}" for name in names]
    return " · ".join(parts) + f' <span class="muted">(total {escape(total)})</span>'


def _au_name(au: object) -> str:
    return f"AU{au}" if isinstance(au, numbers.Integral) or str(au).isdigit() else str(au)


def _finished_at(run_dir: Path, run: Mapping) -> str:
    for key in ("finished", "date", "started"):
        if run.get(key):
            return str(run[key])
    stamp = dt.datetime.fromtimestamp((run_dir / RunDir.RUN).stat().st_mtime).astimezone()
    return stamp.strftime("%Y-%m-%d %H:%M %Z")


def _best_epoch(run_dir: Path) -> str | None:
    """"epoch N of M (val_loss X)" from ``history.json``, or None without validation loss."""
    path = run_dir / RunDir.HISTORY
    if not path.is_file():
        return None
    try:
        losses = read_json(path).get("val_loss") or []
    except ValueError:
        return None
    if not isinstance(losses, list):  # a hand-edited history: no best epoch to name
        return None
    finite = [(loss, i) for i, loss in enumerate(losses) if isinstance(loss, numbers.Real)
              and math.isfinite(loss)]
    if not finite:
        return None
    loss, index = min(finite)
    return f"{index + 1} of {len(losses)} (val_loss {format_number(loss)})"


def _model_text(run: Mapping, config: Mapping) -> str:
    """The built model's name, plus the config's model name when that differs (a preset)."""
    text = escape(run.get("model", "?"))
    section = config.get("model")
    preset = section.get("name") if isinstance(section, dict) else None
    if preset and preset != run.get("model"):
        text += f' <span class="muted">(config model {escape(preset)})</span>'
    return text


def _input_text(size: object, channels: object) -> str:
    """``48 × 48 × 1`` from ``image_size`` and ``channels``."""
    parts = list(size) if isinstance(size, (list, tuple)) else [size]
    if channels is not None:
        parts.append(channels)
    return " × ".join(str(part) for part in parts)


def header_rows(run_dir: Path, run: Mapping, config: Mapping) -> list[tuple[str, str]]:
    """Fact rows from ``run.json`` (and the config and history), values already HTML."""
    rows = [("Run directory", f"<code>{escape(run_dir.resolve())}</code>"),
            ("Finished", escape(_finished_at(run_dir, run))),
            ("Model", _model_text(run, config))]
    if isinstance(run.get("parameters"), numbers.Integral):
        rows.append(("Parameters", f"{run['parameters']:,}"))
    if run.get("image_size"):
        rows.append(("Input", escape(_input_text(run["image_size"], run.get("channels")))))
    if isinstance(run.get("seconds"), numbers.Real):
        rows.append(("Wall time", escape(format_duration(run["seconds"]))))
    if "epochs_run" in run:
        rows.append(("Epochs run", escape(run["epochs_run"])))
    best = _best_epoch(run_dir)
    if best:
        rows.append(("Best epoch", escape(best)))
    if "best_model" in run:
        rows.append(("Best model", f"<code>{escape(run['best_model'])}</code>"))
    if isinstance(run.get("split_sizes"), dict):
        rows.append(("Split sizes", _split_text(run["split_sizes"])))
    if run.get("evaluated_on"):
        rows.append(("Evaluated on", f"the <b>{escape(run['evaluated_on'])}</b> split"))
    if isinstance(run.get("classes"), list) and run["classes"]:
        rows.append((f"Classes ({len(run['classes'])})", chips(run["classes"])))
    if isinstance(run.get("aus"), list) and run["aus"]:
        aus = [_au_name(au) for au in run["aus"]]
        rows.append((f"Action units ({len(aus)})", chips(aus)))
    rows += [(humanise(key), escape(plain(value))) for key, value in run.items()
             if key not in KNOWN_RUN_KEYS]
    return rows
