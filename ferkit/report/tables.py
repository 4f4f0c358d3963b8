"""Tables of the report: ``metrics.json`` as headline cards and lists, every CSV as HTML."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ferkit.report.format import (DIGITS, column_formatter, escape, folder_title, humanise, plain,
                                  title_of)
from ferkit.runs import RunDir

HEADLINE_METRICS = ("emotion_accuracy", "emotion_macro_f1", "emotion_weighted_f1",
                    "emotion_auc_macro", "au_micro_f1", "au_macro_f1")
# Long per-sample or per-epoch tables start folded so the summary tables stay in view.
FOLDED_TABLES = frozenset({RunDir.PREDICTIONS, RunDir.SPLITS, RunDir.TRAINING_LOG})
# Row labels of averages in ferkit.evaluation.metrics reports (kept here to avoid importing
# that package, which loads Keras).
AGGREGATE_ROWS = frozenset({"macro", "micro", "weighted", "samples"})


# --------------------------------------------------------------------------- metrics
def _flatten(metrics: Mapping, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def metrics_section(metrics: Mapping) -> str:
    """Headline metric cards and the full list of ``metrics.json``."""
    flat = _flatten(metrics)
    cards = "".join(
        f'<div class="card"><div class="value">{escape(plain(flat[key]))}</div>'
        f'<div class="label">{escape(humanise(key))}</div></div>'
        for key in HEADLINE_METRICS if key in flat)
    tables = "".join(_metric_table(family, values) for family, values in _families(flat).items())
    body = (f'<div class="tables">{tables}</div>' if tables
            else '<p class="empty">metrics.json is empty.</p>')
    return (f'<section id="metrics"><h2>Headline metrics</h2><div class="cards">{cards}</div>'
            f"{body}</section>")


def _families(flat: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """Metrics grouped by the prefix before their first underscore (``emotion``, ``au``)."""
    families: dict[str, dict[str, object]] = {}
    for key, value in flat.items():
        family, _, rest = key.partition("_")
        families.setdefault(family if rest else "", {})[rest or key] = value
    return families


def _metric_table(family: str, values: Mapping[str, object]) -> str:
    rows = "".join(f'<tr><th scope="row">{escape(key)}</th><td class="num">{escape(plain(value))}'
                   "</td></tr>" for key, value in values.items())
    title = escape(humanise(family) or "Other")
    return (f'<table class="metric-list"><thead><tr><th>{title}</th><th class="num">value</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


# --------------------------------------------------------------------------- CSV tables
def _count_rows(path: Path) -> int:
    """Data rows of a CSV file, read in chunks so large per-sample tables stay cheap."""
    chunks = pd.read_csv(path, usecols=[0], chunksize=200_000)
    return sum(len(chunk) for chunk in chunks)


def _heat_style(value: float, row_total: float) -> str:
    """Inline background for a confusion cell: darker for a larger share of its row."""
    share = value / row_total if row_total > 0 else 0.0
    text = "color:#fff;" if share > 0.55 else ""
    return f' style="background:rgba(37,99,235,{share:.2f});{text}"'


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _row_html(values: tuple, formatters: list, numeric: list[bool], heat: bool) -> str:
    """One body row: a text first cell is the row header; numbers align right (and tint)."""
    labelled = not numeric[0]
    row_total = sum(v for v, n in zip(values, numeric) if n and pd.notna(v)) if heat else 0.0
    cells = []
    for i, value in enumerate(values):
        text = escape(formatters[i](value))
        if i == 0 and labelled:
            cells.append(f'<th scope="row">{text}</th>')
        elif numeric[i]:
            style = _heat_style(float(value), row_total) if heat and pd.notna(value) else ""
            cells.append(f'<td class="num"{style}>{text}</td>')
        else:
            cells.append(f"<td>{text}</td>")
    aggregate = labelled and str(values[0]) in AGGREGATE_ROWS
    opening = '<tr class="aggregate">' if aggregate else "<tr>"
    return opening + "".join(cells) + "</tr>"


def table_html(frame: pd.DataFrame, digits: int = DIGITS, heat: bool = False) -> str:
    """``frame`` as an HTML table: numbers rounded, text escaped, averages highlighted.

    ``heat`` tints numeric cells by their share of the row (for confusion matrices).
    """
    frame = frame.rename(columns=lambda c: "" if str(c).startswith("Unnamed: ") else c)
    if frame.shape[1] == 0:
        return '<p class="empty">No columns.</p>'
    formatters = [column_formatter(frame[c], digits) for c in frame.columns]
    numeric = [_is_numeric(frame[c]) for c in frame.columns]
    head = "".join(f'<th class="num">{escape(c)}</th>' if n else f"<th>{escape(c)}</th>"
                   for c, n in zip(frame.columns, numeric))
    rows = "".join(_row_html(values, formatters, numeric, heat)
                   for values in frame.itertuples(index=False))
    return (f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _table_card(run_dir: Path, path: Path, max_rows: int) -> str:
    """One table with its title and file name; unreadable files become a warning."""
    full = run_dir / path
    caption = f'<p class="path"><code>{escape(path.as_posix())}</code></p>'
    try:  # pandas' parse, empty-file and decode errors are all ValueErrors
        frame = pd.read_csv(full, nrows=max_rows)
        total = _count_rows(full)
    except ValueError as err:
        body = f'<p class="warning">Could not read {escape(path.as_posix())}: {escape(err)}</p>'
        return f'<div class="table-card"><h4>{escape(title_of(path))}</h4>{caption}{body}</div>'
    shown = (f'<p class="muted">First {len(frame)} of {total} rows; the full table is in '
             f"<code>{escape(path.as_posix())}</code>.</p>") if total > len(frame) else ""
    body = caption + table_html(frame, heat="confusion" in path.stem) + shown
    if path.name in FOLDED_TABLES:
        size = f'<span class="muted">({total} rows × {frame.shape[1]} columns)</span>'
        return (f'<details class="table-card wide"><summary>{escape(title_of(path))} {size}'
                f"</summary>{body}</details>")
    return f'<div class="table-card"><h4>{escape(title_of(path))}</h4>{body}</div>'


def tables_section(run_dir: Path, tables: Mapping[str, list[Path]], max_rows: int) -> str:
    """Every CSV table, one group per folder."""
    groups = []
    for folder, paths in tables.items():
        cards = "".join(_table_card(run_dir, path, max_rows) for path in paths)
        groups.append(f"<h3>{escape(folder_title(folder))}</h3><div class=\"tables\">{cards}</div>")
    body = "".join(groups) or '<p class="empty">No CSV tables found.</p>'
    return f'<section id="tables"><h2>Tables</h2>{body}</section>'
