import dataclasses

import numpy as np
import pandas as pd
import pytest

from ferkit.data import plots
from ferkit.data.labels import CKPLUS_EMOTIONS
from ferkit.data.samples import Samples
from ferkit.data.splits import stratified_split
from ferkit.data.synthetic import SyntheticConfig, SyntheticFaces

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AUS = (1, 2, 4, 6, 12, 23, 24, 26)   # a subset keeps the annotated heatmap quick to draw


@pytest.fixture(scope="module")
def samples():
    """120 synthetic faces with AUs, split; the CK+8 vocabulary leaves 'neutral' empty."""
    images, frame = SyntheticFaces(SyntheticConfig(n_subjects=12, size=32), seed=1).sample(120)
    frame = frame.assign(label=frame["emotion"], split=stratified_split(frame, stratify="emotion"))
    return Samples(frame=frame, classes=CKPLUS_EMOTIONS, images=images, aus=AUS, source="synthetic test")


def _assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2000


@pytest.mark.parametrize("plot, options", [
    (plots.plot_class_distribution, {}), (plots.plot_intensity_histograms, {"bins": 16}),
    (plots.plot_sample_grid, {"per_class": 3}), (plots.plot_au_frequency, {}),
    (plots.plot_au_correlation, {})])
def test_each_plot_writes_a_png(samples, tmp_path, plot, options):
    path = plot(samples, tmp_path / "nested" / f"{plot.__name__}.png", **options)
    assert path == tmp_path / "nested" / f"{plot.__name__}.png"
    _assert_png(path)


def test_plots_do_not_touch_pyplot(samples, tmp_path):
    import matplotlib.pyplot as pyplot

    plots.plot_class_distribution(samples, tmp_path / "a.png", by_split=False)
    assert pyplot.get_fignums() == []


def test_au_correlation_is_the_pandas_correlation(samples):
    columns = samples.au_columns
    expected = samples.frame[columns].corr()
    pd.testing.assert_frame_equal(plots.au_correlation(samples), expected)


def test_constant_au_gives_nan_and_still_plots(samples, tmp_path):
    never = dataclasses.replace(samples, frame=samples.frame.assign(AU26=0))
    assert plots.au_correlation(never)["AU26"].isna().all()
    _assert_png(plots.plot_au_correlation(never, tmp_path / "nan.png"))


def test_au_frequency_matches_column_sums(samples):
    table = plots.au_frequency(samples)
    columns = samples.au_columns
    assert table["column"].tolist() == columns and table["au"].tolist() == list(AUS)
    assert table["count"].tolist() == samples.frame[columns].sum().tolist()
    assert np.allclose(table["frequency"], samples.frame[columns].mean())


def test_class_distribution_counts_every_class_per_split(samples):
    table = plots.class_distribution(samples)
    expected = pd.crosstab(samples.frame["label"], samples.frame["split"])
    assert len(table) == 3 * len(CKPLUS_EMOTIONS)
    assert table.query("`class` == 'neutral'")["count"].eq(0).all()
    for (split, name), count in table.set_index(["split", "class"])["count"].items():
        label = CKPLUS_EMOTIONS.index(name)
        assert count == (expected.at[label, split] if label in expected.index else 0)
    overall = plots.class_distribution(samples, by_split=False)
    assert list(overall.columns) == ["class", "count"]
    expected_overall = samples.class_counts().rename_axis("class").rename("count")
    assert overall.set_index("class")["count"].equals(expected_overall)


def test_intensity_histogram_matches_numpy(samples):
    table = plots.intensity_histogram(samples, bins=16)
    happy = samples.images[samples.frame.loc[samples.frame["label"] == 5, "image_index"]]
    counts, _ = np.histogram(happy, bins=16, range=(0, 256))
    assert np.allclose(table.query("`class` == 'happy'")["share"], counts / counts.sum())
    assert np.allclose(table.groupby("class")["share"].sum(), 1.0)
    with pytest.raises(ValueError, match="bins must divide 256"):
        plots.intensity_histogram(samples, bins=10)


def test_missing_images_or_aus_are_named(samples, tmp_path):
    no_images = dataclasses.replace(samples, images=None, frame=samples.frame.assign(path="x.png"))
    with pytest.raises(ValueError, match=r"needs decoded images.*read_images"):
        plots.plot_sample_grid(no_images, tmp_path / "grid.png")
    with pytest.raises(ValueError, match="plot_intensity_histograms|intensity_histogram"):
        plots.plot_intensity_histograms(no_images, tmp_path / "hist.png")
    no_aus = dataclasses.replace(samples, aus=())
    no_au_message = r"au_frequency needs at least 1 action-unit column\(s\), but synthetic test has 0"
    with pytest.raises(ValueError, match=no_au_message):
        plots.plot_au_frequency(no_aus, tmp_path / "freq.png")
    with pytest.raises(ValueError, match="au_correlation needs at least 2"):
        plots.au_correlation(dataclasses.replace(samples, aus=(12,)))
    assert not list(tmp_path.iterdir())
