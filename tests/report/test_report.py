"""The HTML run report: contents, offline safety, escaping, errors, and a real browser render."""
import argparse
import base64
import configparser
import importlib.resources
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ferkit.cli import report as report_command
from ferkit.errors import RunFormatError
from ferkit.report import MAX_ROWS, NotARunDirectory, build_report, format_number

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSES = ["anger", "happy", "surprise"]
TABLES = ["emotion_report.csv", "confusion_matrix.csv", "au_report.csv", "kfold.csv",
          "predictions.csv", "fairness/by_group.csv", "fairness/disparities.csv",
          "occlusion/matrix.csv", "tuning/trials.csv"]
FIGURES = ["plots/history.png", "plots/confusion_matrix.png", "plots/emotion_f1.png",
           "plots/au_f1.png", "fairness/gap & <ratio>.png", "occlusion/heatmap.png",
           "tuning/trials.png"]
DATA_IMAGE = "synthetic_data/cohn-kanade-images/S001/001/S001_001_00000001.png"
DATA_TABLE = "synthetic_data/subjects.csv"
HOSTILE = "<script>alert('x')</script>"


def write_png(path: Path, colour: str = "tab:blue") -> Path:
    """A small real matplotlib figure saved as PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(2.4, 1.6))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.bar(range(3), [0.2, 0.7, 0.5], color=colour)
    axes.set_title(path.stem)
    figure.savefig(path, format="png", dpi=60)
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_run(root: Path) -> Path:
    """A hand-made run directory with the files run_experiment and later evaluations write."""
    write_text(root / "config.yaml", "name: demo <b>bold</b> & co\nmodel:\n  name: ckplus_small\n")
    write_text(root / "run.json", json.dumps({
        "seconds": 183.25, "epochs_run": 4, "evaluated_on": "test",
        "split_sizes": {"train": 30, "val": 9, "test": 9}, "classes": CLASSES, "aus": [1, 12],
        "image_size": [48, 48], "channels": 1, "model": "multitask_resnet", "parameters": 12345,
        "best_model": "model.keras", "future_key": [0.123456, "x"]}))
    write_text(root / "metrics.json", json.dumps({
        "emotion_accuracy": 0.6666666666, "emotion_macro_f1": 0.61234, "au_micro_f1": 0.5}))
    write_text(root / "history.json", json.dumps({"loss": [1.0, 0.8, 0.7, 0.75],
                                                  "val_loss": [1.1, 0.9, 0.85, 0.95]}))
    write_text(root / "emotion_report.csv",
               ",precision,recall,f1,support\nanger,0.3333333333,0.5,0.4,3\n"
               "happy,1.0,1.0,1.0,3\nsurprise,0.75,0.5,0.6,3\nmacro,0.69,0.66,0.66,9\n")
    write_text(root / "confusion_matrix.csv",
               "true,anger,happy,surprise\nanger,1,1,1\nhappy,0,3,0\nsurprise,1,0,2\n")
    write_text(root / "au_report.csv", ",precision,recall,f1,support\nAU1,0.5,0.5,0.5,4\n"
                                       "AU12,0.25,1.0,0.4,2\nmicro,0.4,0.66,0.5,6\n")
    write_text(root / "kfold.csv", "fold,accuracy\n0,0.61\n1,0.64\n")
    rows = "".join(f"/data/S{i:03d}.png,{CLASSES[i % 3]},{i % 3}\n" for i in range(20))
    write_text(root / "predictions.csv", "path,emotion,predicted\n" + rows)
    write_text(root / "fairness/by_group.csv",
               f"group,accuracy\ndark,0.6\nlight,0.7\n\"{HOSTILE}\",0.5\n")
    write_text(root / "fairness/disparities.csv", "attribute,gap\nskin_tone,0.1\n")
    write_text(root / "occlusion/matrix.csv", "region,drop\neyes,0.0001234\nmouth,0.3\n")
    write_text(root / "tuning/trials.csv", "trial,learning_rate,score\n0,0.001,0.5\n")
    write_text(root / "model.keras", "not a real model")
    for number, name in enumerate(FIGURES):
        write_png(root / name, colour=f"C{number}")
    write_png(root / DATA_IMAGE)
    write_text(root / DATA_TABLE, "subject,skin_tone\nS001,dark\n")
    return root


@pytest.fixture(scope="module")
def template_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("template") / "run")


@pytest.fixture()
def run_dir(template_run, tmp_path) -> Path:
    """A fresh copy of the hand-made run, free to be changed by the test."""
    return Path(shutil.copytree(template_run, tmp_path / "run"))


@pytest.fixture()
def page(run_dir) -> str:
    return build_report(run_dir).read_text(encoding="utf-8")


def embedded_images(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in
            re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


# --------------------------------------------------------------------------- contents
def test_report_is_written_into_the_run_directory_by_default(run_dir):
    out = build_report(run_dir)
    assert out == run_dir / "report.html" and out.read_text().startswith("<!DOCTYPE html>")


def test_report_has_header_facts_and_headline_metrics(page):
    for text in ["demo &lt;b&gt;bold&lt;/b&gt; &amp; co", "multitask_resnet", "12,345",
                 "3 min 03 s", "train</b> 30", "val</b> 9", "AU12", "surprise", "48 × 48 × 1",
                 "the <b>test</b> split", "Future key", "0.123, x",
                 "3 of 4 (val_loss 0.850)", "0.667", "0.612", "Emotion accuracy"]:
        assert text in page, text


def test_every_csv_table_is_rendered_with_its_folder_heading(page):
    for name in TABLES:
        assert f"<code>{name}</code>" in page, name
    for heading in ["Fairness", "Occlusion", "Tuning"]:
        assert f"<h3>{heading}</h3>" in page
    assert page.count('<table class="data">') == len(TABLES)


def test_numbers_are_rounded(page):
    assert ">0.333<" in page and "0.3333333" not in page
    assert ">1.23e-04<" in page  # tiny values keep their magnitude
    assert format_number(float("nan")) == "–" and format_number(7) == "7"


def test_every_result_png_is_embedded_as_a_valid_png(run_dir, page):
    images = embedded_images(page)
    assert len(images) == len(FIGURES)
    originals = {(run_dir / name).read_bytes() for name in FIGURES}
    assert set(images) == originals
    for data in images:
        assert data.startswith(PNG_SIGNATURE)
        Image.open(io.BytesIO(data)).verify()


def test_data_folders_are_listed_not_embedded(run_dir, page):
    assert (run_dir / DATA_IMAGE).read_bytes() not in embedded_images(page)
    assert DATA_TABLE not in page
    assert "<code>synthetic_data/</code>" in page and "2 files, not scanned" in page


def test_per_sample_tables_start_folded(page):
    folded = re.search(r'<details class="table-card wide"><summary>Predictions.*?</details>', page)
    assert folded and "(20 rows × 3 columns)" in folded.group(0)


def test_long_tables_are_cut_to_max_rows(run_dir):
    page = build_report(run_dir, max_rows=5).read_text()
    assert "First 5 of 20 rows" in page


def test_report_is_self_contained_and_offline(page):
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "url(" not in page
    for target in re.findall(r'\b(?:src|href)="([^"]*)"', page):
        assert target.startswith(("data:image/png;base64,", "#")), target


def test_all_text_is_escaped(page):
    assert HOSTILE not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "gap &amp; &lt;ratio&gt;.png" in page


def test_unreadable_table_or_figure_becomes_a_warning(run_dir):
    write_text(run_dir / "broken.csv", "")
    write_text(run_dir / "plots" / "broken.png", "not a png")
    page = build_report(run_dir).read_text()
    assert 'class="warning">Could not read broken.csv' in page
    assert re.search(r'class="warning">[^<]*broken\.png is not a PNG file', page)


def test_out_file_or_folder_and_the_report_is_not_listed_in_itself(run_dir, tmp_path):
    out = build_report(run_dir, tmp_path / "reports" / "demo.html")
    assert out.is_file()
    assert build_report(run_dir, tmp_path / "reports") == tmp_path / "reports" / "report.html"
    build_report(run_dir)
    assert "<code>report.html</code>" not in build_report(run_dir).read_text()


# --------------------------------------------------------------------------- errors and CLI
def test_missing_run_files_are_named(tmp_path):
    write_text(tmp_path / "config.yaml", "name: x\n")
    with pytest.raises(NotARunDirectory, match=r"not a ferkit run directory: missing "
                                               r"run\.json, metrics\.json"):
        build_report(tmp_path)


def test_missing_or_file_run_dir_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        build_report(tmp_path / "nowhere")
    with pytest.raises(NotADirectoryError, match="is a file"):
        build_report(write_text(tmp_path / "file.txt", "x"))


def test_invalid_json_names_the_file(run_dir):
    write_text(run_dir / "metrics.json", "{oops")
    with pytest.raises(ValueError, match=r"metrics\.json is not valid JSON"):
        build_report(run_dir)


def test_a_run_json_that_is_corrupt_or_newer_is_no_finished_run(run_dir):
    write_text(run_dir / "run.json", "{oops")
    with pytest.raises(RunFormatError, match=r"run\.json: not valid JSON"):
        build_report(run_dir)
    write_text(run_dir / "run.json", json.dumps({"format": "ferkit-run", "version": 99}))
    with pytest.raises(RunFormatError, match="newer ferkit"):
        build_report(run_dir)


@pytest.mark.parametrize("file, field, value, left_out", [
    ("run.json", "classes", 7, "Classes ("), ("run.json", "aus", 5, "Action units ("),
    ("history.json", "val_loss", 0.5, "Best epoch")],
    ids=["classes-a-number", "aus-a-number", "val-loss-a-number"])
def test_a_hand_edited_record_of_the_wrong_type_still_reports(run_dir, file, field, value,
                                                             left_out):
    record = json.loads((run_dir / file).read_text())
    write_text(run_dir / file, json.dumps({**record, field: value}))
    page = build_report(run_dir).read_text(encoding="utf-8")
    assert "Headline metrics" in page and left_out not in page


def test_a_max_rows_below_one_is_refused(run_dir):
    with pytest.raises(ValueError, match="max_rows must be a whole number >= 1, got 0"):
        build_report(run_dir, max_rows=0)


def test_the_stylesheet_is_package_data_inlined_in_the_page(page):
    css = importlib.resources.files("ferkit.report").joinpath("report.css").read_text("utf-8")
    assert ".facts th" in css and f"<style>{css}</style>" in page
    setup = configparser.ConfigParser()
    setup.read(Path(__file__).parents[2] / "setup.cfg")
    assert "report.css" in setup["options.package_data"]["ferkit.report"]


def test_the_command_default_rows_are_the_library_default():
    assert report_command.MAX_ROWS == MAX_ROWS


def test_report_command(run_dir, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="ferkit")
    report_command.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "r.html"
    args = parser.parse_args(["report", str(run_dir), "--out", str(out)])
    assert args.run(args) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out


# --------------------------------------------------------------------------- real browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def find_chromium() -> str:
    """Chromium's path; in CI (``CI`` set) a missing browser fails instead of skipping."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed but CI is set: install it with "
                    "`sudo apt-get update && sudo apt-get install -y chromium` "
                    "(or chromium-browser) so the report render test runs")
    pytest.skip("chromium not found on PATH (apt-get install chromium); with CI set this "
                "test fails instead of skipping")


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    chromium = find_chromium()
    url = build_report(run_dir).resolve().as_uri()
    dom = run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", url).stdout
    assert "<title>ferkit report: demo" in dom
    assert dom.count('<table class="data">') == len(TABLES)
    assert dom.count("<img ") == len(FIGURES)
    assert "<h3>Fairness</h3>" in dom and "Headline metrics" in dom

    shot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={shot}",
                 "--window-size=1280,2000", url)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=100_000)
    assert colours is None or len(colours) > 50, "the screenshot is (nearly) one colour"
    assert image.getextrema()[0][0] < 80, "no dark text pixels in the screenshot"
