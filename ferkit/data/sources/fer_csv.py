"""The FER2013 and FER+ csv files as text tables: read (gzip or not), header checked with
spelling hints, and rows with problems raised at once or skipped with a report.

Row numbers in messages are 0-based data rows (the header is not counted): the position
that aligns a FER+ row with its FER2013 row.
"""
from __future__ import annotations

import contextlib
import difflib
import gzip
import io
import warnings
import zlib
from pathlib import Path
from typing import Sequence

import pandas as pd

from ferkit.data.sources.common import OnError
from ferkit.errors import FER2013FormatError

def check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist or is not a file")


def check_columns(found: Sequence[str], expected: Sequence[str], path: Path, what: str) -> None:
    """Raise naming the missing columns, the ones found, and likely misspellings."""
    missing = [name for name in expected if name not in found]
    if not missing:
        return
    lowered = {str(f).lower(): str(f) for f in found}
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        if close:
            hints.append(f"{lowered[close[0]]!r} for {name!r}?")
    hint = f" (did you mean {', '.join(hints)})" if hints else ""
    raise FER2013FormatError(
        f"{what} file {path}: missing column(s) {missing}{hint}; "
        f"found columns {list(found)}, expected {list(expected)}")


@contextlib.contextmanager
def _gzip_errors(path: Path, what: str):
    """Turn a truncated or non-gzip ``.gz`` file's errors into one naming the file."""
    try:
        yield
    except EOFError as error:
        raise FER2013FormatError(f"{what} file {path}: the gzip file is truncated or damaged "
                                 f"({error}); download or compress it again") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise FER2013FormatError(f"{what} file {path}: not a gzip file although it ends in "
                                 f".gz ({error}); rename it or compress it with gzip") from None


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _decode(data: bytes, path: Path, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FER2013FormatError(f"{what} file {path}, line {line}: not UTF-8 text (byte "
                                 f"0x{data[error.start]:02x} at offset {error.start})") from None


def read_header(path: Path, what: str) -> list[str]:
    """The column names on the first line of a csv (or ``.csv.gz``), read without loading the
    rest; a damaged gzip or a non-UTF-8 header is a named error."""
    with _gzip_errors(path, what), _open(path) as stream:
        line = stream.readline()
    return [name.strip() for name in _decode(line, path, what).split(",")]


def _read_text(path: Path, what: str) -> str:
    """The whole file as text (un-gzipped for ``.gz``); decoding failures name the file."""
    with _gzip_errors(path, what), _open(path) as stream:
        data = stream.read()
    return _decode(data, path, what)


def _split_plain_csv(text: str, path: Path, expected: Sequence[str], what: str
                     ) -> tuple[pd.DataFrame, dict[int, str]]:
    """A csv without quotes, split with str methods (several times faster than a csv parser
    on 2304-value cells). Rows with the wrong number of fields are returned as problems."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = [name.strip() for name in lines[0].split(",")] if lines else []
    check_columns(header, expected, path, what)
    rows, problems = [], {}
    for number, line in enumerate(lines[1:]):
        fields = line.split(",")
        if len(fields) != len(header):
            problems[number] = f"has {len(fields)} fields, expected {len(header)} ({', '.join(header)})"
            fields = [""] * len(header)
        rows.append(fields)
    return pd.DataFrame(rows, columns=header, dtype=object), problems


def read_table(path: Path, expected: Sequence[str], what: str) -> tuple[pd.DataFrame, dict[int, str]]:
    """Every cell as text (nothing becomes NaN), after checking the header; plus the rows whose
    field count is wrong. Quoted csv files go through pandas' parser."""
    text = _read_text(path, what)
    if not text.strip():
        raise FER2013FormatError(f"{what} file {path}: the file is empty (expected a header "
                                 f"line {','.join(expected)})")
    if '"' not in text:
        return _split_plain_csv(text, path, expected, what)
    try:
        header = [str(name).strip() for name in pd.read_csv(io.StringIO(text), nrows=0).columns]
        check_columns(header, expected, path, what)
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise FER2013FormatError(f"{what} file {path}: not a well-formed csv: {error}") from None
    table.columns = header
    return table.fillna(""), {}


def raise_or_skip(problems: dict[int, str], path: Path, what: str, on_error: OnError) -> list[dict]:
    """Raise on the first problem row, or warn and return a report of the skipped rows."""
    if not problems:
        return []
    rows = sorted(problems)
    if on_error == "raise":
        more = f" (and {len(rows) - 1} more rows with problems)" if len(rows) > 1 else ""
        raise FER2013FormatError(f"{what} file {path}, row {rows[0]}: {problems[rows[0]]}{more}")
    examples = "; ".join(f"row {row}: {problems[row]}" for row in rows[:3])
    warnings.warn(f"{what} file {path}: skipped {len(rows)} rows with problems, e.g. {examples}; "
                  "see frame.attrs['skipped']", stacklevel=3)
    return [{"row": row, "problem": problems[row]} for row in rows]
