"""Labels and attributes written in file names, and CSV manifests of path + label.

Seed 000's definitive dataset names each image ``Expression_Race_Gender_Index``
(``Happy_Asian_Female_0012.jpg``), so the file name alone carries the label and the
attributes a fairness report groups by. A small template language turns such names into
columns::

    "{expression}_{race}_{gender}_{index}"   Happy_Asian_Female_0012  -> 4 text columns
    "{expression}_{race}_{index:d}"          Happy_Asian_12           -> index is an int
    "{expression}_{_}_{index}"               the middle field is matched but not kept

A field matches one or more characters other than the punctuation used between fields,
so ``Happy_Asian_Female_0012_copy`` does not silently parse as index ``0012_copy``.
The template is matched against the whole name without its extension.
"""
from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from ferkit.data.images import IMAGE_EXTENSIONS
from ferkit.data.samples import Samples
from ferkit.data.sources.common import (
    LabelMap, OnError, check_on_error, class_vocabulary, has_extension, normalise_extensions,
    report_skipped, resolve_label, unreadable_images,
)
from ferkit.errors import (
    DataError, FilenameTemplateError, ImageReadError, ManifestError, UnknownLabelError,
)

#: Seed 000's naming convention.
FANE_TEMPLATE = "{expression}_{race}_{gender}_{index}"

_FIELD = re.compile(r"\{([^{}]*)\}")
_RESERVED = ("path", "label", "emotion", "folder", "file")


@dataclasses.dataclass(frozen=True)
class FilenameTemplate:
    """A compiled template: the text, the kept field names, the integer fields and the regex."""

    text: str
    fields: tuple[str, ...]
    int_fields: tuple[str, ...]
    pattern: re.Pattern

    def parse(self, name: str) -> dict[str, str | int] | None:
        """The field values of a file name (extension ignored), or None when it does not match."""
        match = self.pattern.fullmatch(_stem(name))
        if match is None:
            return None
        return {f: int(v) if f in self.int_fields else v for f, v in match.groupdict().items()}


def _stem(name: str | Path) -> str:
    return Path(name).stem


def compile_template(template: str) -> FilenameTemplate:
    """Compile ``{field}`` / ``{field:d}`` / ``{_}`` templates; errors say what is wrong."""
    pieces = _template_pieces(template)
    separators = {ch for kind, text, _ in pieces if kind == "literal" for ch in text if not ch.isalnum()}
    any_text = f"[^{re.escape(''.join(sorted(separators)))}]+" if separators else ".+"
    regex, fields, int_fields = "", [], []
    for kind, text, spec in pieces:
        if kind == "literal":
            regex += re.escape(text)
            continue
        body = r"\d+" if spec == "d" else any_text
        if text == "_":
            regex += f"(?:{body})"
            continue
        regex += f"(?P<{text}>{body})"
        fields.append(text)
        int_fields += [text] if spec == "d" else []
    return FilenameTemplate(template, tuple(fields), tuple(int_fields), re.compile(regex))


def _template_pieces(template: str) -> list[tuple[str, str, str]]:
    """``[(kind, text, spec)]`` with kind "literal" or "field"; validates the template."""
    pieces, position, seen = [], 0, set()
    for match in _FIELD.finditer(template):
        _add_literal(pieces, template[position:match.start()], template)
        name, _, spec = match.group(1).partition(":")
        _check_field(name, spec, seen, template)
        if pieces and pieces[-1][0] == "field":
            raise FilenameTemplateError(f"template {template!r}: fields {{{pieces[-1][1]}}} and "
                                        f"{{{name}}} touch; put a separator such as '_' between them")
        pieces.append(("field", name, spec))
        position = match.end()
    _add_literal(pieces, template[position:], template)
    if not any(kind == "field" for kind, _, _ in pieces):
        raise FilenameTemplateError(f"template {template!r} has no {{field}}")
    return pieces


def _add_literal(pieces: list, text: str, template: str) -> None:
    if "{" in text or "}" in text:
        raise FilenameTemplateError(f"template {template!r}: unbalanced brace in {text!r}")
    if text:
        pieces.append(("literal", text, ""))


def _check_field(name: str, spec: str, seen: set, template: str) -> None:
    if spec not in ("", "d"):
        raise FilenameTemplateError(f"template {template!r}: field {{{name}:{spec}}} has an unknown "
                                    f"type {spec!r}; use {{{name}}} for text or {{{name}:d}} for digits")
    if name != "_" and not name.isidentifier():
        raise FilenameTemplateError(f"template {template!r}: field name {name!r} is not an "
                                    f"identifier (letters, digits, '_'), nor '_' to ignore a part")
    if name in seen:
        raise FilenameTemplateError(f"template {template!r}: field {{{name}}} appears twice")
    if name != "_":
        seen.add(name)


def _mismatch_reason(template: FilenameTemplate) -> str:
    return (f"name does not match template {template.text!r} (fields may not contain the "
            f"separators between them; :d fields must be digits)")


def parse_filename_attributes(names: Iterable[str | Path], template: str = FANE_TEMPLATE,
                              on_error: OnError = "raise",
                              source_name: str | None = None) -> pd.DataFrame:
    """One row per file name: a ``file`` column (the name as given) plus one column per field.

    ``Happy_Asian_Female_0012.jpg`` with the default template gives expression ``Happy``,
    race ``Asian``, gender ``Female``, index ``0012``. A name that does not match raises
    :class:`FilenameTemplateError` naming it, or with ``on_error="skip"`` is left out and
    reported with a :class:`~ferkit.data.folders.SkippedItemsWarning`.
    """
    check_on_error(on_error)
    compiled = compile_template(template)
    if "file" in compiled.fields:
        raise FilenameTemplateError(f"template {template!r}: field name 'file' is reserved")
    rows, skipped = [], []
    for name in names:
        values = compiled.parse(str(name))
        if values is None:
            skipped.append((str(name), _mismatch_reason(compiled)))
        else:
            rows.append({"file": str(name), **values})
    if skipped and on_error == "raise":
        more = f" ({len(skipped) - 1} more names do not match either)" if len(skipped) > 1 else ""
        raise FilenameTemplateError(f"{skipped[0][0]}: {skipped[0][1]}{more}")
    report_skipped(source_name or "file names", skipped, stacklevel=2)
    return pd.DataFrame(rows, columns=["file", *compiled.fields])


def _walk_images(root: Path, extensions: Sequence[str], recursive: bool,
                 skipped: list) -> list[Path]:
    entries = root.rglob("*") if recursive else root.iterdir()
    images = []
    for path in sorted(entries):
        if any(part.startswith(".") for part in path.relative_to(root).parts) or path.is_dir():
            continue
        if has_extension(path, extensions):
            images.append(path)
        else:
            skipped.append((str(path), f"extension {path.suffix or '(none)'!r} is not in extensions"))
    return images


def _map_labels(frame: pd.DataFrame, column: str, label_map: LabelMap | None, on_error: OnError,
                where: str, skipped: list) -> pd.DataFrame:
    """Add ``emotion`` (the unified class); excluded or (skip mode) unknown rows go to ``skipped``."""
    if isinstance(label_map, Mapping):
        label_map = {str(key): value for key, value in label_map.items()}
    names = []
    for raw, item in zip(frame[column].astype(str), frame["_item"]):
        try:
            name = resolve_label(raw, label_map)
        except UnknownLabelError as error:
            if on_error == "raise":
                raise UnknownLabelError(f"{where}, {item}: {error}") from None
            skipped.append((item, f"unknown label {raw!r}"))
            name = None
        else:
            if name is None:
                skipped.append((item, f"label {raw!r} excluded by label_map"))
        names.append(name)
    frame = frame.assign(emotion=names)
    return frame[frame["emotion"].notna()].reset_index(drop=True)


def _finish(frame: pd.DataFrame, classes: Sequence[str] | None, where: str, source: str,
            check_images: bool, on_error: OnError, skipped: list) -> Samples:
    """Decode check, class vocabulary, integer labels and the skip report shared by both loaders."""
    if check_images:
        frame = _drop_unreadable(frame, where, on_error, skipped)
    report_skipped(source, skipped, stacklevel=3)
    if frame.empty:
        raise DataError(f"{where}: no labelled images are left to read")
    found = frame.groupby("emotion", sort=True)["_item"].apply(list).to_dict()
    vocabulary = class_vocabulary(found, classes, where)
    frame["label"] = frame["emotion"].map({c: i for i, c in enumerate(vocabulary)}).astype("int64")
    return Samples(frame=frame.drop(columns="_item"), classes=vocabulary, source=source)


def _drop_unreadable(frame: pd.DataFrame, where: str, on_error: OnError,
                     skipped: list) -> pd.DataFrame:
    """Rows whose image reads; the others raise (naming row and file) or go to ``skipped``."""
    reasons = dict(unreadable_images(frame["path"]))
    bad = [(item, f"unreadable image {path}: {reasons[path]}")
           for item, path in zip(frame["_item"], frame["path"]) if path in reasons]
    if bad and on_error == "raise":
        shown = "; ".join(f"{item}: {reason}" for item, reason in bad[:5])
        raise ImageReadError(f"{where}: {len(bad)} unreadable image(s): {shown}")
    skipped += bad
    return frame[~frame["path"].isin(reasons)].reset_index(drop=True)


def load_filename_dataset(root: str | Path, template: str = FANE_TEMPLATE,
                          label_field: str = "expression", label_map: LabelMap | None = None,
                          classes: Sequence[str] | None = None,
                          extensions: Sequence[str] = IMAGE_EXTENSIONS, recursive: bool = True,
                          on_error: OnError = "raise", source_name: str | None = None, *,
                          check_images: bool = False) -> Samples:
    """Every image under ``root``, labelled from its file name.

    Args:
        root: folder to walk (sub-folders too when ``recursive``).
        template: the file-name template (see the module docstring).
        label_field: the template field holding the class.
        label_map: raw label -> unified class (mapping or callable); None excludes, with a
            report; a raw label missing from the map is an error (or skipped).
        classes: class order for ``label``; default: the sorted unified names found.
        extensions: file endings read as images; other files are reported and left out.
        on_error: ``"raise"`` on a name that does not match the template or an unknown label,
            or ``"skip"`` it with a :class:`~ferkit.data.folders.SkippedItemsWarning`.
        source_name: shown in errors and used by ``merge_samples``; default: root's name.
        check_images: decode every image once to catch truncated files.

    Returns:
        Samples with ``path``, ``folder`` (relative to root), one column per template field,
        ``emotion`` (unified class) and ``label``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist or is not a folder")
    check_on_error(on_error)
    compiled = compile_template(template)
    _check_fields(compiled, label_field)
    source, skipped = source_name or root.name, []
    paths = _walk_images(root, normalise_extensions(extensions), recursive, skipped)
    if not paths:
        raise FileNotFoundError(f"{root}: no image files with extensions {list(extensions)}")
    frame = _parse_paths(paths, root, compiled, on_error, skipped)
    frame = _map_labels(frame, label_field, label_map, on_error, f"file-name dataset {root}", skipped)
    return _finish(frame, classes, f"file-name dataset {root}", source, check_images, on_error, skipped)


def _check_fields(compiled: FilenameTemplate, label_field: str) -> None:
    reserved = sorted(set(compiled.fields) & set(_RESERVED))
    if reserved:
        raise FilenameTemplateError(f"template {compiled.text!r}: field names {reserved} are reserved "
                                    f"for ferkit's own columns; rename them (e.g. {{expression}})")
    if label_field not in compiled.fields:
        raise FilenameTemplateError(f"label_field {label_field!r} is not a field of template "
                                    f"{compiled.text!r} (fields: {list(compiled.fields)})")


def _parse_paths(paths: list[Path], root: Path, compiled: FilenameTemplate, on_error: OnError,
                 skipped: list) -> pd.DataFrame:
    rows = []
    for path in paths:
        values = compiled.parse(path.name)
        if values is None:
            if on_error == "raise":
                raise FilenameTemplateError(f"{path}: {_mismatch_reason(compiled)}")
            skipped.append((str(path), _mismatch_reason(compiled)))
            continue
        folder = path.parent.relative_to(root).as_posix()
        rows.append({"path": str(path), "folder": folder, **values, "_item": str(path)})
    return pd.DataFrame(rows, columns=["path", "folder", *compiled.fields, "_item"])


# ----------------------------------------------------------------------------- CSV manifests

def load_manifest(csv_path: str | Path, path_column: str = "path", label_column: str = "label",
                  root: str | Path | None = None, classes: Sequence[str] | None = None,
                  label_map: LabelMap | None = None, on_error: OnError = "raise",
                  source_name: str | None = None, *, check_images: bool = False) -> Samples:
    """A CSV with one image per row: a path, a label and any attribute columns.

    Args:
        csv_path: the manifest. Other columns (``race``, ``gender``, ``subject``, ``split``)
            are kept as they are.
        path_column: column of image paths; relative paths are resolved against ``root``,
            by default the CSV's own folder.
        label_column: column of raw labels (class names, or codes mapped by ``label_map``;
            mapping keys are compared as text, so ``{0: "angry"}`` matches ``0``).
        root: folder that relative paths start from.
        classes: class order for ``label``; default: the sorted unified names found.
        label_map: raw label -> unified class (mapping or callable); None excludes the row.
        on_error: ``"raise"`` listing every bad row (missing file, empty or unknown label), or
            ``"skip"`` those rows with a :class:`~ferkit.data.folders.SkippedItemsWarning`.
        source_name: shown in errors and used by ``merge_samples``; default: the CSV's name.
        check_images: decode every image once to catch truncated files.

    Returns:
        Samples with the CSV's columns, ``path`` (resolved), ``emotion`` (unified class) and
        ``label``. CSV columns named ``path``, ``label`` or ``emotion`` are kept as
        ``<name>_raw``. Rows are named ``row N (line L)``: N counts data rows from 1, L is the
        line in the file.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"manifest {csv_path} does not exist or is not a file")
    check_on_error(on_error)
    where = f"manifest {csv_path}"
    table = _read_manifest(csv_path, path_column, label_column)
    path_column, label_column, table = _keep_raw_columns(table, path_column, label_column, where)
    base = Path(root) if root is not None else csv_path.parent
    table["path"] = [_resolve(text, base) for text in table[path_column]]
    table["_item"] = [f"row {i + 1} (line {i + 2})" for i in range(len(table))]
    skipped: list[tuple[str, str]] = []
    table = _drop_bad_rows(table, path_column, label_column, on_error, where, skipped)
    table = _map_labels(table, label_column, label_map, on_error, where, skipped)
    return _finish(table, classes, where, source_name or csv_path.name, check_images, on_error, skipped)


def _read_manifest(csv_path: Path, path_column: str, label_column: str) -> pd.DataFrame:
    header = _read_csv(csv_path, nrows=0).columns
    missing = [c for c in (path_column, label_column) if c not in header]
    if missing:
        raise ManifestError(f"manifest {csv_path}: no column(s) {missing}; columns are "
                            f"{list(header)}")
    return _read_csv(csv_path, dtype={path_column: str, label_column: str})


def _read_csv(csv_path: Path, **options) -> pd.DataFrame:
    """``pd.read_csv`` with its failures (empty, ragged rows, not UTF-8) as a
    :class:`ManifestError` naming the file. A row with more cells than the header is an error
    too, where pandas would quietly read the extra cells as an index or drop them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(csv_path, encoding="utf-8", index_col=False, **options)
    except pd.errors.ParserWarning:
        raise ManifestError(f"manifest {csv_path}: not a well-formed CSV table (a row has more "
                            "cells than the header)") from None
    except pd.errors.EmptyDataError:
        raise ManifestError(f"manifest {csv_path} is empty (no header line)") from None
    except pd.errors.ParserError as error:
        raise ManifestError(f"manifest {csv_path}: not a well-formed CSV table "
                            f"({str(error).strip()})") from None
    except UnicodeDecodeError as error:
        raise ManifestError(f"manifest {csv_path}: not UTF-8 text (byte "
                            f"0x{error.object[error.start]:02x} at position {error.start})"
                            ) from None


def _keep_raw_columns(table: pd.DataFrame, path_column: str, label_column: str,
                      where: str) -> tuple[str, str, pd.DataFrame]:
    """Rename CSV columns that ferkit's ``path``/``label``/``emotion`` would overwrite to ``*_raw``."""
    renames = {name: f"{name}_raw" for name in ("path", "label", "emotion") if name in table.columns}
    clashes = [new for new in renames.values() if new in table.columns]
    if clashes:
        raise ManifestError(f"{where}: columns {clashes} clash with the names ferkit keeps raw values "
                         f"under; rename them")
    return renames.get(path_column, path_column), renames.get(label_column, label_column), \
        table.rename(columns=renames)


def _resolve(text, base: Path) -> str:
    if not isinstance(text, str) or not text.strip():
        return ""
    path = Path(text.strip())
    return str(path if path.is_absolute() else base / path)


def _drop_bad_rows(table: pd.DataFrame, path_column: str, label_column: str, on_error: OnError,
                   where: str, skipped: list) -> pd.DataFrame:
    problems = [_row_problem(resolved, raw_path, label)
                for resolved, raw_path, label in zip(table["path"], table[path_column], table[label_column])]
    problems = _mark_duplicates(table["path"], table["_item"], problems)
    bad = [(item, problem) for item, problem in zip(table["_item"], problems) if problem]
    if bad and on_error == "raise":
        listed = "; ".join(f"{item}: {problem}" for item, problem in bad[:10])
        more = f"; and {len(bad) - 10} more rows" if len(bad) > 10 else ""
        raise ManifestError(f"{where}: {len(bad)} bad row(s): {listed}{more}")
    skipped += bad
    table = table[[not problem for problem in problems]].reset_index(drop=True)
    table[label_column] = table[label_column].str.strip()
    return table


def _mark_duplicates(paths: pd.Series, items: pd.Series, problems: list[str]) -> list[str]:
    """``problems`` with each repeat of an image path marked, naming the row it repeats (the
    first listing stays), so one image is never counted, or split, twice."""
    first: dict[str, str] = {}
    marked = []
    for path, item, problem in zip(paths, items, problems):
        if not problem and path in first:
            problem = f"duplicate of {first[path]}: {path} is listed more than once"
        elif not problem:
            first[path] = item
        marked.append(problem)
    return marked


def _row_problem(resolved: str, raw_path, label) -> str:
    if not resolved:
        return "empty path"
    if not isinstance(label, str) or not label.strip():
        return f"empty label (blank or NaN) for {raw_path}"
    if not Path(resolved).is_file():
        return f"file {resolved} does not exist"
    return ""
