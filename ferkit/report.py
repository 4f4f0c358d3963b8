"""One self-contained HTML report of a run directory (``ferkit report RUN_DIR``).

:func:`build_report` reads what :func:`ferkit.training.run_experiment` and later
evaluations left in a run directory and writes a single ``report.html`` that opens
offline: the CSS is inline, PNG figures are embedded as base64 data URIs, and nothing
refers to a script, font, stylesheet or page outside the file.

Every ``*.csv`` table and ``*.png`` figure in the run directory is included, grouped by
the folder it sits in, so a new evaluation that writes e.g. ``fairness/by_group.csv``
shows up without changes here. Folders that hold data or training state rather than
results (the synthesised data set, Keras' epoch backup, TensorBoard logs, dataset trees,
nested run directories, deep or image-heavy folders) are only summarised in the file list.
"""
from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import html
import json
import math
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import yaml

import ferkit
from ferkit.errors import NotARunDirectory

REPORT_NAME = "report.html"
REQUIRED_FILES = ("config.yaml", "run.json", "metrics.json")
MAX_ROWS = 100
DIGITS = 3

# Folders below the run directory that are scanned for tables and figures; others are
# summarised (file count and size) in the file list.
MAX_DEPTH = 2
MAX_FIGURES_PER_FOLDER = 64
SUMMARISED_FOLDERS = frozenset({"synthetic_data", "synthetic_ckplus", "backup", "logs"})
DATASET_MARKERS = ("cohn-kanade-images", "Emotion", "CK+48")

TABLE_ORDER = ("emotion_report.csv", "confusion_matrix.csv", "au_report.csv", "kfold.csv",
               "training_log.csv")
FIGURE_ORDER = ("history.png", "confusion_matrix.png", "emotion_f1.png", "au_f1.png")
TITLES = {
    "emotion_report.csv": "Emotion report",
    "confusion_matrix.csv": "Confusion matrix (rows: true, columns: predicted)",
    "au_report.csv": "Action-unit report",
    "kfold.csv": "K-fold results",
    "training_log.csv": "Training log (per epoch)",
    "predictions.csv": "Predictions (one row per test sample)",
    "splits.csv": "Splits (one row per sample)",
    "history.png": "Training history",
    "confusion_matrix.png": "Confusion matrix",
    "emotion_f1.png": "Per-class F1 (emotions)",
    "au_f1.png": "Per-AU F1",
}
FOLDER_TITLES = {"": "Evaluation", "plots": "Training and evaluation"}
# Long per-sample or per-epoch tables start folded so the summary tables stay in view.
FOLDED_TABLES = frozenset({"predictions.csv", "splits.csv", "training_log.csv"})
# Row labels of averages in ferkit.evaluation.metrics reports (kept here to avoid importing
# that package, which loads Keras).
AGGREGATE_ROWS = frozenset({"macro", "micro", "weighted", "samples"})
HEADLINE_METRICS = ("emotion_accuracy", "emotion_macro_f1", "emotion_weighted_f1",
                    "emotion_auc_macro", "au_micro_f1", "au_macro_f1")


# --------------------------------------------------------------------------- reading the run
@dataclasses.dataclass(frozen=True)
class RunContents:
    """Files of a run directory, as paths relative to it.

    Attributes:
        tables: folder (``""`` for the top level) -> CSV files, in report order.
        figures: folder -> PNG files, in report order.
        files: every file that was scanned, sorted.
        skipped: folders only summarised: (folder, number of files, bytes).
    """

    tables: dict[str, list[Path]]
    figures: dict[str, list[Path]]
    files: list[Path]
    skipped: list[tuple[Path, int, int]]


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path, or an error naming what makes it no run directory."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise NotADirectoryError(f"{run_dir} is a file, not a run directory")
    missing = [name for name in REQUIRED_FILES if not (run_dir / name).is_file()]
    if missing:
        raise NotARunDirectory(f"{run_dir} is not a ferkit run directory: missing "
                               f"{', '.join(missing)} (written by `ferkit train`)")
    return run_dir


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; the error names the file."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise ValueError(f"{path} should hold a JSON object, found {type(value).__name__}")
    return value


def read_config(path: Path) -> tuple[str, dict]:
    """The config's YAML text and its parsed mapping (empty when it does not parse)."""
    text = path.read_text(encoding="utf-8")
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    return text, parsed if isinstance(parsed, dict) else {}


def _is_data_folder(folder: Path, depth: int) -> bool:
    """Whether ``folder`` holds data, training state or another run rather than results."""
    return (depth > MAX_DEPTH or folder.name in SUMMARISED_FOLDERS or folder.name.startswith(".")
            or (folder / "run.json").is_file()
            or any((folder / marker).is_dir() for marker in DATASET_MARKERS)
            or sum(1 for _ in folder.glob("*.png")) > MAX_FIGURES_PER_FOLDER)


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def _walk(folder: Path, root: Path, depth: int, files: list, skipped: list) -> None:
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            if _is_data_folder(entry, depth + 1):
                skipped.append((entry.relative_to(root), *_folder_size(entry)))
            else:
                _walk(entry, root, depth + 1, files, skipped)
        elif entry.is_file() and not entry.name.startswith("."):
            files.append(entry.relative_to(root))


def _ordered(paths: Iterable[Path], first: tuple[str, ...]) -> list[Path]:
    rank = {name: i for i, name in enumerate(first)}
    return sorted(paths, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def _by_folder(files: list[Path], suffix: str, first: tuple[str, ...]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for path in files:
        if path.suffix.lower() == suffix:
            folder = "" if path.parent == Path(".") else path.parent.as_posix()
            groups.setdefault(folder, []).append(path)
    order = sorted(groups, key=lambda f: (f != "", f != "plots", f))
    return {folder: _ordered(groups[folder], first) for folder in order}


def scan_run(run_dir: Path, exclude: Iterable[Path] = ()) -> RunContents:
    """Find the tables, figures and other files of ``run_dir`` (``exclude``: absolute paths)."""
    files: list[Path] = []
    skipped: list[tuple[Path, int, int]] = []
    _walk(run_dir, run_dir, 0, files, skipped)
    excluded = {Path(path).resolve() for path in exclude}
    files = sorted(path for path in files if (run_dir / path).resolve() not in excluded)
    return RunContents(_by_folder(files, ".csv", TABLE_ORDER),
                       _by_folder(files, ".png", FIGURE_ORDER), files, skipped)


# --------------------------------------------------------------------------- formatting
def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


ACRONYMS = {"au": "AU", "aus": "AUs", "auc": "AUC", "f1": "F1", "csv": "CSV", "png": "PNG"}


def _humanise(name: str) -> str:
    words = [ACRONYMS.get(word.lower(), word) for word in name.replace("-", "_").split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def title_of(path: Path) -> str:
    """A readable title for a table or figure file."""
    return TITLES.get(path.name) or _humanise(path.stem)


def folder_title(folder: str) -> str:
    """A readable heading for a folder of results (``""`` is the run directory itself)."""
    return FOLDER_TITLES.get(folder) or " / ".join(_humanise(part) for part in folder.split("/"))


def format_number(value: float, digits: int = DIGITS) -> str:
    """``value`` rounded for reading: fixed decimals, scientific when tiny, "–" for NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(value)
    if math.isnan(value):
        return "–"
    if value != 0 and abs(value) < 10 ** -digits:
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}f}"


def format_bytes(size: int) -> str:
    """``size`` in B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def format_duration(seconds: float) -> str:
    """``seconds`` as e.g. ``42.9 s``, ``3 min 05 s`` or ``2 h 07 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _column_formatter(column: pd.Series, digits: int):
    """Cells of an all-whole-number float column print as integers, others rounded."""
    values = column.dropna()
    if (pd.api.types.is_float_dtype(column) and len(values)
            and bool((values == values.round()).all()) and values.abs().max() < 1e15):
        return lambda v: "–" if pd.isna(v) else str(int(v))
    return lambda v: format_number(v, digits)


# --------------------------------------------------------------------------- HTML pieces
def _chips(values: Iterable[object]) -> str:
    return "".join(f'<span class="chip">{_esc(v)}</span>' for v in values)


def _facts(rows: list[tuple[str, str]]) -> str:
    """A two-column fact table; values are HTML already escaped by the caller."""
    body = "".join(f"<tr><th scope=\"row\">{_esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _split_text(sizes: Mapping[str, object]) -> str:
    order = {"train": 0, "val": 1, "test": 2}
    names = sorted(sizes, key=lambda name: (order.get(name, 3), name))
    total = sum(v for v in sizes.values() if isinstance(v, numbers.Number))
    parts = [f"<b>{_esc(name)}</b> {_esc(sizes[name])}" for name in names]
    return " · ".join(parts) + f' <span class="muted">(total {_esc(total)})</span>'


def _au_name(au: object) -> str:
    return f"AU{au}" if isinstance(au, numbers.Integral) or str(au).isdigit() else str(au)


def _finished_at(run_dir: Path, run: Mapping) -> str:
    for key in ("finished", "date", "started"):
        if run.get(key):
            return str(run[key])
    stamp = dt.datetime.fromtimestamp((run_dir / "run.json").stat().st_mtime).astimezone()
    return stamp.strftime("%Y-%m-%d %H:%M %Z")


def _best_epoch(run_dir: Path) -> str | None:
    """"epoch N of M (val_loss X)" from ``history.json``, or None without validation loss."""
    path = run_dir / "history.json"
    if not path.is_file():
        return None
    try:
        losses = read_json(path).get("val_loss") or []
    except ValueError:
        return None
    finite = [(loss, i) for i, loss in enumerate(losses) if isinstance(loss, numbers.Real)
              and math.isfinite(loss)]
    if not finite:
        return None
    loss, index = min(finite)
    return f"{index + 1} of {len(losses)} (val_loss {format_number(loss)})"


KNOWN_RUN_KEYS = ("name", "seconds", "epochs_run", "evaluated_on", "split_sizes", "classes",
                  "aus", "image_size", "channels", "model", "parameters", "best_model",
                  "finished", "date", "started")


def _model_text(run: Mapping, config: Mapping) -> str:
    """The built model's name, plus the config's model name when that differs (a preset)."""
    text = _esc(run.get("model", "?"))
    section = config.get("model")
    preset = section.get("name") if isinstance(section, dict) else None
    if preset and preset != run.get("model"):
        text += f' <span class="muted">(config model {_esc(preset)})</span>'
    return text


def _header_rows(run_dir: Path, run: Mapping, config: Mapping) -> list[tuple[str, str]]:
    """Fact rows from ``run.json`` (and the config and history), values already HTML."""
    rows = [("Run directory", f"<code>{_esc(run_dir.resolve())}</code>"),
            ("Finished", _esc(_finished_at(run_dir, run))),
            ("Model", _model_text(run, config))]
    if isinstance(run.get("parameters"), numbers.Integral):
        rows.append(("Parameters", f"{run['parameters']:,}"))
    if run.get("image_size"):
        rows.append(("Input", _esc(_input_text(run["image_size"], run.get("channels")))))
    if isinstance(run.get("seconds"), numbers.Real):
        rows.append(("Wall time", _esc(format_duration(run["seconds"]))))
    if "epochs_run" in run:
        rows.append(("Epochs run", _esc(run["epochs_run"])))
    best = _best_epoch(run_dir)
    if best:
        rows.append(("Best epoch", _esc(best)))
    if "best_model" in run:
        rows.append(("Best model", f"<code>{_esc(run['best_model'])}</code>"))
    if isinstance(run.get("split_sizes"), dict):
        rows.append(("Split sizes", _split_text(run["split_sizes"])))
    if run.get("evaluated_on"):
        rows.append(("Evaluated on", f"the <b>{_esc(run['evaluated_on'])}</b> split"))
    if run.get("classes"):
        rows.append((f"Classes ({len(run['classes'])})", _chips(run["classes"])))
    if run.get("aus"):
        aus = [_au_name(au) for au in run["aus"]]
        rows.append((f"Action units ({len(aus)})", _chips(aus)))
    rows += [(_humanise(key), _esc(_plain(value))) for key, value in run.items()
             if key not in KNOWN_RUN_KEYS]
    return rows


def _input_text(size: object, channels: object) -> str:
    """``48 × 48 × 1`` from ``image_size`` and ``channels``."""
    parts = list(size) if isinstance(size, (list, tuple)) else [size]
    if channels is not None:
        parts.append(channels)
    return " × ".join(str(part) for part in parts)


def _plain(value: object) -> str:
    """A JSON value as short text: rounded floats, comma-separated lists."""
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


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
        f'<div class="card"><div class="value">{_esc(_plain(flat[key]))}</div>'
        f'<div class="label">{_esc(_humanise(key))}</div></div>'
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
    rows = "".join(f'<tr><th scope="row">{_esc(key)}</th><td class="num">{_esc(_plain(value))}'
                   "</td></tr>" for key, value in values.items())
    title = _esc(_humanise(family) or "Other")
    return (f'<table class="metric-list"><thead><tr><th>{title}</th><th class="num">value</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


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
        text = _esc(formatters[i](value))
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
    formatters = [_column_formatter(frame[c], digits) for c in frame.columns]
    numeric = [_is_numeric(frame[c]) for c in frame.columns]
    head = "".join(f'<th class="num">{_esc(c)}</th>' if n else f"<th>{_esc(c)}</th>"
                   for c, n in zip(frame.columns, numeric))
    rows = "".join(_row_html(values, formatters, numeric, heat)
                   for values in frame.itertuples(index=False))
    return (f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _table_card(run_dir: Path, path: Path, max_rows: int) -> str:
    """One table with its title and file name; unreadable files become a warning."""
    full = run_dir / path
    caption = f'<p class="path"><code>{_esc(path.as_posix())}</code></p>'
    try:  # pandas' parse, empty-file and decode errors are all ValueErrors
        frame = pd.read_csv(full, nrows=max_rows)
        total = _count_rows(full)
    except ValueError as err:
        body = f'<p class="warning">Could not read {_esc(path.as_posix())}: {_esc(err)}</p>'
        return f'<div class="table-card"><h4>{_esc(title_of(path))}</h4>{caption}{body}</div>'
    shown = (f'<p class="muted">First {len(frame)} of {total} rows; the full table is in '
             f"<code>{_esc(path.as_posix())}</code>.</p>") if total > len(frame) else ""
    body = caption + table_html(frame, heat="confusion" in path.stem) + shown
    if path.name in FOLDED_TABLES:
        size = f'<span class="muted">({total} rows × {frame.shape[1]} columns)</span>'
        return (f'<details class="table-card wide"><summary>{_esc(title_of(path))} {size}'
                f"</summary>{body}</details>")
    return f'<div class="table-card"><h4>{_esc(title_of(path))}</h4>{body}</div>'


def tables_section(run_dir: Path, tables: Mapping[str, list[Path]], max_rows: int) -> str:
    """Every CSV table, one group per folder."""
    groups = []
    for folder, paths in tables.items():
        cards = "".join(_table_card(run_dir, path, max_rows) for path in paths)
        groups.append(f"<h3>{_esc(folder_title(folder))}</h3><div class=\"tables\">{cards}</div>")
    body = "".join(groups) or '<p class="empty">No CSV tables found.</p>'
    return f'<section id="tables"><h2>Tables</h2>{body}</section>'


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Figures at least this many pixels wide (e.g. the multi-panel history) take a full row.
WIDE_FIGURE_PIXELS = 1000


def read_png(path: Path) -> bytes:
    """The bytes of a PNG file; the error names a file that is not one."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24:
        raise ValueError(f"{path} is not a PNG file")
    return data


def png_width(data: bytes) -> int:
    """A PNG's width in pixels, from its IHDR header."""
    return int.from_bytes(data[16:20], "big")


def png_data_uri(data: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure(run_dir: Path, path: Path) -> str:
    """One embedded figure with its title and file name; a broken file becomes a warning."""
    name = _esc(path.as_posix())
    try:
        data = read_png(run_dir / path)
    except ValueError as err:
        image, wide = f'<p class="warning">{_esc(err)}</p>', False
    else:
        image = f'<img src="{png_data_uri(data)}" alt="{name}">'
        wide = png_width(data) >= WIDE_FIGURE_PIXELS
    opening = '<figure class="wide">' if wide else "<figure>"
    return (f"{opening}{image}<figcaption>{_esc(title_of(path))} "
            f'<code>{name}</code></figcaption></figure>')


def plots_section(run_dir: Path, figures: Mapping[str, list[Path]]) -> str:
    """Every PNG figure, embedded, one group per folder."""
    groups = []
    for folder, paths in figures.items():
        images = "".join(_figure(run_dir, path) for path in paths)
        groups.append(f"<h3>{_esc(folder_title(folder))}</h3><div class=\"figures\">{images}</div>")
    body = "".join(groups) or '<p class="empty">No PNG figures found.</p>'
    return f'<section id="plots"><h2>Plots</h2>{body}</section>'


def config_section(text: str) -> str:
    """The ``config.yaml`` the run used, verbatim."""
    return (f'<section id="config"><h2>Configuration</h2><p class="path"><code>config.yaml'
            f"</code></p><pre>{_esc(text)}</pre></section>")


def files_section(run_dir: Path, contents: RunContents) -> str:
    """Every scanned file with its size, and the summarised data folders."""
    rows = [f"<tr><td><code>{_esc(p.as_posix())}</code></td><td class=\"num\">"
            f"{format_bytes((run_dir / p).stat().st_size)}</td></tr>" for p in contents.files]
    rows += [f"<tr><td><code>{_esc(folder.as_posix())}/</code> <span class=\"muted\">"
             f"({count} files, not scanned)</span></td>"
             f'<td class="num">{format_bytes(size)}</td></tr>'
             for folder, count, size in contents.skipped]
    return (f'<section id="files"><h2>Files</h2><table class="files"><thead><tr><th>file</th>'
            f'<th>size</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


NAV = (("metrics", "Metrics"), ("tables", "Tables"), ("plots", "Plots"),
       ("config", "Configuration"), ("files", "Files"))


def _page(title: str, header: str, sections: list[str]) -> str:
    nav = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in NAV)
    generated = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="ferkit {_esc(ferkit.__version__)}">'
            f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>"
            f"{header}<nav>{nav}</nav><main>{''.join(sections)}</main>"
            f"<footer>Generated by ferkit {_esc(ferkit.__version__)} on {_esc(generated)}."
            f"</footer></body></html>\n")


def _header(name: str, rows: list[tuple[str, str]]) -> str:
    return (f'<header><p class="kicker">ferkit run report</p><h1>{_esc(name)}</h1>'
            f"{_facts(rows)}</header>")


# --------------------------------------------------------------------------- entry points
def render_report(run_dir: str | Path, exclude: Iterable[Path] = (),
                  max_rows: int = MAX_ROWS) -> str:
    """The report of ``run_dir`` as one HTML string (``exclude``: files to leave out)."""
    run_dir = check_run_dir(run_dir)
    run = read_json(run_dir / "run.json")
    metrics = read_json(run_dir / "metrics.json")
    config_text, config = read_config(run_dir / "config.yaml")
    name = str(run.get("name") or config.get("name") or run_dir.resolve().name)
    contents = scan_run(run_dir, exclude)
    sections = [metrics_section(metrics), tables_section(run_dir, contents.tables, max_rows),
                plots_section(run_dir, contents.figures), config_section(config_text),
                files_section(run_dir, contents)]
    header = _header(name, _header_rows(run_dir, run, config))
    return _page(f"ferkit report: {name}", header, sections)


def build_report(run_dir: str | Path, out: str | Path | None = None,
                 max_rows: int = MAX_ROWS) -> Path:
    """Write the self-contained HTML report of ``run_dir``; return its path.

    Args:
        run_dir: a run directory written by ``run_experiment`` / ``ferkit train``.
        out: the HTML file (default ``run_dir/report.html``); a folder gets ``report.html``.
        max_rows: longer CSV tables show their first ``max_rows`` rows.
    """
    run_dir = check_run_dir(run_dir)
    out = Path(out) if out is not None else run_dir / REPORT_NAME
    if out.is_dir():
        out = out / REPORT_NAME
    page = render_report(run_dir, exclude=[out], max_rows=max_rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _report_command(args: argparse.Namespace) -> int:
    path = build_report(args.run_dir, args.out, args.max_rows)
    print(f"wrote {path}")
    return 0


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``report RUN_DIR [--out FILE] [--max-rows N]`` to a ``ferkit`` subparsers object."""
    parser = subparsers.add_parser("report", help="write a self-contained HTML report of a run "
                                                  "directory")
    parser.add_argument("run_dir", help="run directory written by `ferkit train`")
    parser.add_argument("--out", help="HTML file to write (default RUN_DIR/report.html)")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS,
                        help=f"rows shown per CSV table (default {MAX_ROWS})")
    parser.set_defaults(run=_report_command)
    return parser


CSS = """
:root{--ink:#1f2933;--muted:#66727f;--line:#dde2e8;--panel:#fff;--bg:#f4f6f8;--accent:#2563eb;
--soft:#eef3fd}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,nav,main,footer{max-width:1240px;margin:0 auto;padding:0 20px}
header{padding-top:28px}
.kicker{margin:0;color:var(--accent);font-weight:600;text-transform:uppercase;letter-spacing:.08em;
font-size:12px}
h1{margin:2px 0 14px;font-size:28px}
h2{margin:0 0 14px;font-size:20px;border-bottom:2px solid var(--line);padding-bottom:6px}
h3{margin:22px 0 10px;font-size:16px;color:var(--muted)}
h4{margin:0 0 2px;font-size:14px}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;
font-size:12px}
nav{display:flex;gap:18px;padding-top:10px;padding-bottom:10px}
nav a{color:var(--accent);text-decoration:none;font-weight:600}
section{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:20px 22px;
margin:0 0 20px}
table{border-collapse:collapse}
.facts{background:var(--panel);border:1px solid var(--line);border-radius:10px;width:100%;
display:table;overflow:hidden}
.facts th,.facts td{padding:6px 14px;border-bottom:1px solid var(--line);text-align:left;
vertical-align:top}
.facts tr:last-child th,.facts tr:last-child td{border-bottom:0}
.facts th{width:190px;color:var(--muted);font-weight:600;white-space:nowrap}
.chip{display:inline-block;background:var(--soft);color:#1e40af;border-radius:999px;
padding:1px 9px;margin:2px 4px 2px 0;font-size:12px}
.muted{color:var(--muted);font-weight:normal}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:12px;
margin-bottom:16px}
.card{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:8px;
padding:10px 14px}
.card .value{font-size:24px;font-weight:700}
.card .label{color:var(--muted);font-size:12px}
.metric-list{min-width:300px}
.tables{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.table-card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;max-width:100%}
.table-card.wide{flex-basis:100%}
details.table-card summary{cursor:pointer;font-weight:600}
.path{margin:0 0 8px;color:var(--muted)}
.scroll{overflow-x:auto;max-width:100%}
table.data th,table.data td,.metric-list th,.metric-list td,.files th,.files td{
padding:4px 9px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.data thead th,.metric-list thead th,.files thead th{background:#f8fafc;
border-bottom:2px solid var(--line);font-weight:600}
table.data tbody th,.metric-list tbody th{font-weight:600}
table td.num,table th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.aggregate{background:#f8fafc}
tr.aggregate th,tr.aggregate td{font-style:italic}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px;text-align:center}
figure.wide{grid-column:1/-1}
figure img{max-width:100%;height:auto;max-height:560px}
figure.wide img{max-height:820px}
figcaption{margin-top:6px;color:var(--muted)}
figcaption code{margin-left:6px}
pre{background:#f8fafc;border:1px solid var(--line);border-radius:8px;padding:12px;
overflow:auto;margin:0}
.files{min-width:50%}
.warning{color:#9a3412;background:#fff7ed;border:1px solid #fed7aa;border-radius:6px;
padding:6px 10px}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;padding-bottom:28px}
@media print{body{background:#fff}section{break-inside:avoid-page;border:0}nav{display:none}}
"""
