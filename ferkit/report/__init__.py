"""One self-contained HTML report of a run directory (``ferkit report RUN_DIR``).

:func:`build_report` reads what ``ferkit train`` and later evaluations left in a finished run
directory and writes a single ``report.html`` that opens offline: the stylesheet
(``report.css``, a data file of this package) is inlined, PNG figures are embedded as base64
data URIs, and nothing refers to a script, font, stylesheet or page outside the file.

* :mod:`~ferkit.report.scan`: checking and reading the run, finding its tables and figures.
* :mod:`~ferkit.report.header`: the facts from ``run.json``, the config and the history.
* :mod:`~ferkit.report.tables`: headline metrics and every CSV table.
* :mod:`~ferkit.report.sections`: figures, the config and the file list.
* :mod:`~ferkit.report.format`: escaping, titles and rounding.
* :mod:`~ferkit.report.page`: the page and the entry points.
"""
from ferkit.errors import NotARunDirectory
from ferkit.report.format import (format_bytes, format_duration, format_number, folder_title,
                                  title_of)
from ferkit.report.page import MAX_ROWS, NAV, REPORT_NAME, build_report, render_report, stylesheet
from ferkit.report.scan import (REQUIRED_FILES, RunContents, check_run_dir, read_config,
                                read_json, scan_run)
from ferkit.report.sections import (config_section, files_section, plots_section, png_data_uri,
                                    png_width, read_png)
from ferkit.report.tables import metrics_section, table_html, tables_section

__all__ = [
    "build_report", "render_report", "NotARunDirectory", "RunContents", "check_run_dir",
    "scan_run", "read_json", "read_config", "format_number", "format_bytes", "format_duration",
    "title_of", "folder_title", "table_html", "metrics_section", "tables_section",
    "plots_section", "config_section", "files_section", "read_png", "png_width", "png_data_uri",
    "stylesheet", "REPORT_NAME", "REQUIRED_FILES", "MAX_ROWS", "NAV",
]
