"""Sections of the report besides the tables: embedded figures, the config, the file list."""
from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

from ferkit.report.format import escape, folder_title, format_bytes, title_of
from ferkit.report.scan import RunContents
from ferkit.runs import RunDir

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
    name = escape(path.as_posix())
    try:
        data = read_png(run_dir / path)
    except ValueError as err:
        image, wide = f'<p class="warning">{escape(err)}</p>', False
    else:
        image = f'<img src="{png_data_uri(data)}" alt="{name}">'
        wide = png_width(data) >= WIDE_FIGURE_PIXELS
    opening = '<figure class="wide">' if wide else "<figure>"
    return (f"{opening}{image}<figcaption>{escape(title_of(path))} "
            f'<code>{name}</code></figcaption></figure>')


def plots_section(run_dir: Path, figures: Mapping[str, list[Path]]) -> str:
    """Every PNG figure, embedded, one group per folder."""
    groups = []
    for folder, paths in figures.items():
        images = "".join(_figure(run_dir, path) for path in paths)
        groups.append(f'<h3>{escape(folder_title(folder))}</h3><div class="figures">{images}</div>')
    body = "".join(groups) or '<p class="empty">No PNG figures found.</p>'
    return f'<section id="plots"><h2>Plots</h2>{body}</section>'


def config_section(text: str) -> str:
    """The ``config.yaml`` the run used, verbatim."""
    return (f'<section id="config"><h2>Configuration</h2><p class="path"><code>{RunDir.CONFIG}'
            f"</code></p><pre>{escape(text)}</pre></section>")


def files_section(run_dir: Path, contents: RunContents) -> str:
    """Every scanned file with its size, and the summarised data folders."""
    rows = [f"<tr><td><code>{escape(p.as_posix())}</code></td><td class=\"num\">"
            f"{format_bytes((run_dir / p).stat().st_size)}</td></tr>" for p in contents.files]
    rows += [f"<tr><td><code>{escape(folder.as_posix())}/</code> <span class=\"muted\">"
             f"({count} files, not scanned)</span></td>"
             f'<td class="num">{format_bytes(size)}</td></tr>'
             for folder, count, size in contents.skipped]
    return (f'<section id="files"><h2>Files</h2><table class="files"><thead><tr><th>file</th>'
            f'<th>size</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')
