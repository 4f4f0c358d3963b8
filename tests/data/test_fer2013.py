"""ferkit.data.sources' fer2013, ferplus and vote_rules modules: FER2013 csv parsing, FER+
label modes, vote rules, and their errors.

Fixtures are tiny files written in the real formats (CRLF fer2013.csv, optionally gzipped;
Microsoft's fer2013new.csv); expected FER+ targets are worked out by hand in the comments.
"""
from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferkit.data.labels import FER2013_EMOTIONS
from ferkit.data.sources.fer2013 import load_fer2013, parse_pixels
from ferkit.data.sources.ferplus import (
    FERPLUS_EMOTIONS, FERPLUS_VOTE_COLUMNS, draw_hard_targets, ferplus_targets, load_ferplus,
    read_ferplus_votes, soft_targets,
)
from ferkit.data.sources.vote_rules import (
    VoteCondition, apply_vote_rules, load_ferplus_rules, load_vote_rules, parse_vote_rules,
)
from ferkit.errors import FER2013FormatError, VoteRuleError

SEED002 = Path(__file__).resolve().parents[2] / "configs" / "ferplus_seed002_rules.yaml"
FERPLUS_HEADER = "Usage,Image name," + ",".join(FERPLUS_VOTE_COLUMNS)


# ----------------------------------------------------------------------------- fixture writers

def face(seed: int) -> np.ndarray:
    """A 48x48 uint8 image that covers 0 and 255 and every digit count."""
    image = np.random.default_rng(seed).integers(0, 256, size=(48, 48), dtype=np.uint8)
    image[0, :3] = (0, 255, 7)
    return image


def pixel_text(image: np.ndarray) -> str:
    return " ".join(str(v) for v in image.ravel())


def write_fer2013(path: Path, rows: list[tuple], header: str = "emotion,pixels,Usage") -> Path:
    """Rows of (emotion, pixels, usage[, extra...]) in the Kaggle layout: CRLF, no quotes."""
    lines = [header] + [",".join(str(field) for field in row) for row in rows]
    data = ("\r\n".join(lines) + "\r\n").encode("ascii")
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)
    return path


def write_ferplus(path: Path, rows: list[tuple]) -> Path:
    """Rows of (usage, image name, 10 votes) in Microsoft's fer2013new.csv layout."""
    lines = [FERPLUS_HEADER] + [",".join([usage, name] + [str(v) for v in votes])
                                for usage, name, votes in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


USAGES = ["Training", "Training", "Training", "PublicTest", "PrivateTest", "Training"]
EMOTIONS = [0, 3, 6, 4, 2, 5]


@pytest.fixture
def fer_rows():
    return [(emotion, pixel_text(face(i)), usage)
            for i, (emotion, usage) in enumerate(zip(EMOTIONS, USAGES))]


@pytest.fixture
def fer_csv(tmp_path, fer_rows):
    return write_fer2013(tmp_path / "fer2013.csv", fer_rows)


# Votes of the six fixture rows (neutral, happiness, surprise, sadness, anger, disgust, fear,
# contempt, unknown, NF) and what majority mode does with them:
PLUS_VOTES = [
    (4, 0, 0, 1, 3, 2, 0, 0, 0, 0),   # 0: singles dropped -> 4,3,2 of 9: no majority
    (6, 0, 1, 1, 0, 0, 0, 0, 2, 0),   # 1: -> neutral 6 of 8: neutral
    (0, 10, 0, 0, 0, 0, 0, 0, 0, 0),  # 2: happiness
    (0, 0, 0, 0, 0, 0, 0, 0, 3, 7),   # 3: NF 7 of 10: not a face
    (2, 0, 0, 6, 2, 0, 0, 0, 0, 0),   # 4: sadness 6 of 10: sadness
    (0, 0, 7, 0, 0, 0, 3, 0, 0, 0),   # 5: surprise
]


def plus_rows(usages=USAGES, votes=PLUS_VOTES, unnamed=()):
    """fer2013new.csv rows; the rows in ``unnamed`` have no image name."""
    return [(usage, "" if i in unnamed else f"fer{i:07d}.png", row_votes)
            for i, (usage, row_votes) in enumerate(zip(usages, votes))]


@pytest.fixture
def plus_csv(tmp_path):
    return write_ferplus(tmp_path / "fer2013new.csv", plus_rows())


def targets_of(votes, mode):
    targets, labels, reasons = ferplus_targets(np.array([votes]), mode)
    return targets[0], int(labels[0]), reasons[0]


def one_hot(name):
    return np.eye(8)[FERPLUS_EMOTIONS.index(name)]


def share(**weights):
    out = np.zeros(8)
    for name, value in weights.items():
        out[FERPLUS_EMOTIONS.index(name)] = value
    return out


# ----------------------------------------------------------------------------- FER2013 parsing

@pytest.mark.parametrize("name", ["fer2013.csv", "fer2013.csv.gz"])
def test_fer2013_round_trip(tmp_path, fer_rows, name):
    samples = load_fer2013(write_fer2013(tmp_path / name, fer_rows))
    assert samples.classes == FER2013_EMOTIONS
    assert samples.images.shape == (6, 48, 48) and samples.images.dtype == np.uint8
    for i in range(6):
        np.testing.assert_array_equal(samples.images[samples.frame["image_index"][i]], face(i))
    frame = samples.frame
    assert frame["row"].tolist() == list(range(6))
    assert frame["label"].tolist() == EMOTIONS
    assert frame["emotion"].tolist() == [FER2013_EMOTIONS[e] for e in EMOTIONS]
    assert frame["usage"].tolist() == USAGES
    assert frame["split"].tolist() == ["train", "train", "train", "val", "test", "train"]
    assert frame.attrs["skipped"] == [] and frame.attrs["n_rows_in_file"] == 6


def test_usage_filter_keeps_file_row_numbers(fer_csv):
    public = load_fer2013(fer_csv, usage="PublicTest")
    assert public.frame["row"].tolist() == [3]
    np.testing.assert_array_equal(public.images[0], face(3))
    both = load_fer2013(fer_csv, usage=["PublicTest", "PrivateTest"])
    assert both.frame["split"].tolist() == ["val", "test"]
    with pytest.raises(ValueError, match="usage must be"):
        load_fer2013(fer_csv, usage="Validation")


def test_extra_columns_and_quoted_csv(tmp_path, fer_rows):
    quoted = [(e, f'"{p}"', u, "x") for e, p, u in fer_rows]
    samples = load_fer2013(write_fer2013(tmp_path / "q.csv", quoted, "emotion,pixels,Usage,source"))
    np.testing.assert_array_equal(samples.images[5], face(5))
    assert samples.frame["source"].tolist() == ["x"] * 6


def test_irregular_whitespace_and_leading_zeros_are_read(tmp_path):
    image = face(1)
    values = [str(v) for v in image.ravel()]
    values[0] = "007"
    text = "  " + "\t".join(values[:10]) + "  " + " ".join(values[10:]) + " "
    samples = load_fer2013(write_fer2013(tmp_path / "w.csv", [(1, text, "Training")]))
    expected = image.copy()
    expected[0, 0] = 7
    np.testing.assert_array_equal(samples.images[0], expected)


def test_parse_pixels_blocks_with_a_bad_row_in_the_middle():
    images = [face(i) for i in range(600)]
    texts = [pixel_text(image) for image in images]
    texts[300] = texts[300] + " 12"
    parsed, problems = parse_pixels(texts)
    assert problems == {300: "'pixels' has 2305 values, expected 2304 (48x48)"}
    for i in (0, 255, 256, 299, 301, 599):
        np.testing.assert_array_equal(parsed[i], images[i])


def test_parsing_is_vectorised_fast():
    texts = [pixel_text(face(i)) for i in range(8)] * 400   # 3200 rows, ~7.4 M values
    start = time.perf_counter()
    parsed, problems = parse_pixels(texts)
    assert time.perf_counter() - start < 5.0   # about 0.2 s when the machine is idle
    assert not problems and parsed.shape == (3200, 48, 48)


# ----------------------------------------------------------------------------- FER2013 errors

def bad_file(tmp_path, fer_rows, row, field, value):
    rows = [list(r) for r in fer_rows]
    rows[row][field] = value
    return write_fer2013(tmp_path / "bad.csv", [tuple(r) for r in rows])


def test_wrong_pixel_count_names_file_and_row(tmp_path, fer_rows):
    short = " ".join(fer_rows[2][1].split()[:-1])
    path = bad_file(tmp_path, fer_rows, 2, 1, short)
    expected = f"FER2013 file {path}, row 2: 'pixels' has 2303 values, expected 2304 (48x48)"
    with pytest.raises(FER2013FormatError, match=re.escape(expected)):
        load_fer2013(path)


@pytest.mark.parametrize("value, problem", [
    ("12.5", "'pixels' value 5 is '12.5', not an integer 0..255"),
    ("256", "'pixels' value 5 is 256, outside 0..255"),
    ("-1", "'pixels' value 5 is -1, outside 0..255"),
    ("abc", "'pixels' value 5 is 'abc', not an integer 0..255"),
])
def test_bad_pixel_value_is_named(tmp_path, fer_rows, value, problem):
    tokens = fer_rows[4][1].split()
    tokens[5] = value
    path = bad_file(tmp_path, fer_rows, 4, 1, " ".join(tokens))
    with pytest.raises(FER2013FormatError, match=re.escape(f"row 4: {problem}")):
        load_fer2013(path)


@pytest.mark.parametrize("value", ["7", "-1", "x", "1.5", ""])
def test_unknown_emotion_code(tmp_path, fer_rows, value):
    path = bad_file(tmp_path, fer_rows, 1, 0, value)
    with pytest.raises(FER2013FormatError, match=re.escape(f"row 1: 'emotion' is {value!r}, "
                                                           "expected an integer code 0..6")):
        load_fer2013(path)


def test_unknown_usage_is_caught_even_when_filtered_out(tmp_path, fer_rows):
    path = bad_file(tmp_path, fer_rows, 5, 2, "Trainig")
    message = "row 5: 'Usage' is 'Trainig', expected one of Training, PublicTest, PrivateTest"
    with pytest.raises(FER2013FormatError, match=re.escape(message)):
        load_fer2013(path, usage="PublicTest")


def test_misspelled_column_lists_found_and_expected(tmp_path, fer_rows):
    path = write_fer2013(tmp_path / "c.csv", fer_rows, header="emotion,pixels,Usgae")
    with pytest.raises(FER2013FormatError) as error:
        load_fer2013(path)
    message = str(error.value)
    assert f"FER2013 file {path}: missing column(s) ['Usage']" in message
    assert "did you mean 'Usgae' for 'Usage'?" in message
    assert "found columns ['emotion', 'pixels', 'Usgae']" in message
    assert "expected ['emotion', 'pixels', 'Usage']" in message


def test_wrong_field_count_and_missing_file(tmp_path, fer_rows):
    rows = list(fer_rows)
    rows[3] = rows[3] + ("extra",)
    path = write_fer2013(tmp_path / "f.csv", rows)
    with pytest.raises(FER2013FormatError, match=re.escape("row 3: has 4 fields, expected 3")):
        load_fer2013(path)
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        load_fer2013(tmp_path / "nothere.csv")


def test_skip_mode_warns_and_reports(tmp_path, fer_rows):
    rows = [list(r) for r in fer_rows]
    rows[1][0] = "9"
    rows[4][1] = "1 2 3"
    path = write_fer2013(tmp_path / "s.csv", [tuple(r) for r in rows])
    with pytest.warns(UserWarning, match="skipped 2 rows with problems"):
        samples = load_fer2013(path, on_error="skip")
    assert samples.frame["row"].tolist() == [0, 2, 3, 5]
    np.testing.assert_array_equal(samples.images[samples.frame["image_index"][3]], face(5))
    assert [s["row"] for s in samples.frame.attrs["skipped"]] == [1, 4]
    assert "'pixels' has 3 values" in samples.frame.attrs["skipped"][1]["problem"]
    with pytest.raises(ValueError, match="on_error"):
        load_fer2013(path, on_error="ignore")


# ----------------------------------------------------------------------------- FER+ label modes

def test_single_votes_are_dropped_before_the_majority_test():
    # Raw 5 of 10 is not a strict majority; without the five single votes it is 5 of 5.
    assert targets_of((5, 1, 1, 1, 1, 1, 0, 0, 0, 0), "majority")[2] == ""
    np.testing.assert_array_equal(targets_of((5, 1, 1, 1, 1, 1, 0, 0, 0, 0), "majority")[0],
                                  one_hot("neutral"))
    assert targets_of((1,) * 10, "majority")[2] == "single_votes_only"
    assert targets_of((1,) * 10, "probability")[2] == "single_votes_only"


@pytest.mark.parametrize("votes, expected", [
    ((6, 0, 1, 1, 0, 0, 0, 0, 2, 0), "neutral"),        # 6 of 8 after dropping singles
    ((5, 0, 0, 5, 0, 0, 0, 0, 0, 0), "no_majority"),    # exactly half is not a majority
    ((4, 0, 0, 1, 3, 2, 0, 0, 0, 0), "no_majority"),    # 4 of 9
    ((3, 0, 0, 0, 2, 0, 0, 0, 0, 0), "neutral"),        # 3 of 5
    ((0, 0, 0, 0, 0, 0, 0, 0, 6, 4), "unknown"),
    ((0, 0, 2, 0, 0, 0, 0, 0, 0, 8), "not_face"),
    ((0, 0, 0, 0, 0, 0, 0, 0, 5, 5), "no_majority"),
])
def test_majority_mode(votes, expected):
    targets, label, reason = targets_of(votes, "majority")
    if expected in FERPLUS_EMOTIONS:
        assert reason == "" and label == FERPLUS_EMOTIONS.index(expected)
        np.testing.assert_array_equal(targets, one_hot(expected))
    else:
        assert reason == expected and label == -1 and not targets.any()


@pytest.mark.parametrize("mode", ["probability", "crossentropy"])
@pytest.mark.parametrize("votes, expected", [
    # neutral 6 (60% < 75%), then the tie group sadness+anger: 3 classes, 100%.
    ((6, 0, 0, 2, 2, 0, 0, 0, 0, 0), share(neutral=.6, sadness=.2, anger=.2)),
    # the first tie group already holds 80%: anger's 2 votes are left out.
    ((4, 0, 0, 4, 2, 0, 0, 0, 0, 0), share(neutral=.5, sadness=.5)),
    # singles are noise: 6 of the 8 remaining votes is 75% already. Counting the singles,
    # 6 of 10 would fall short and pull in anger's 2.
    ((6, 1, 1, 0, 2, 0, 0, 0, 0, 0), share(neutral=1)),
    # unknown ties with sadness after neutral: sadness is taken, unknown is not, selection stops.
    ((4, 0, 0, 2, 0, 0, 0, 0, 2, 2), share(neutral=4 / 6, sadness=2 / 6)),
    # two tie groups take 4 classes (> 3): discarded.
    ((3, 3, 2, 2, 0, 0, 0, 0, 0, 0), "no_consensus"),
    ((2, 2, 2, 2, 2, 0, 0, 0, 0, 0), "no_consensus"),
    # neutral ties with unknown: only neutral (3 of 10) is kept, <= 50%: discarded.
    ((3, 0, 2, 2, 0, 0, 0, 0, 3, 0), "no_consensus"),
    ((3, 0, 0, 0, 0, 0, 0, 0, 5, 2), "unknown"),
    ((2, 0, 0, 0, 0, 0, 0, 0, 0, 8), "not_face"),
])
def test_distribution_modes(mode, votes, expected):
    targets, label, reason = targets_of(votes, mode)
    if isinstance(expected, str):
        assert reason == expected and label == -1 and not targets.any()
    else:
        assert reason == ""
        np.testing.assert_allclose(targets, expected)
        assert label == int(np.argmax(expected))


@pytest.mark.parametrize("votes, expected", [
    ((4, 0, 0, 4, 2, 0, 0, 0, 0, 0), share(neutral=1, sadness=1)),             # tie: both
    ((3, 3, 3, 0, 0, 0, 0, 0, 0, 0), share(neutral=1, happiness=1, surprise=1)),  # 3 of 9 >= 2.7
    ((4, 3, 3, 0, 0, 0, 0, 0, 0, 0), share(neutral=1, happiness=1, surprise=1)),  # 3 of 10 is 30%
    ((4, 2, 2, 2, 0, 0, 0, 0, 0, 0), "no_consensus"),   # only neutral has 30%; 4 of 10 <= half
    ((3, 2, 0, 0, 0, 0, 0, 0, 0, 0), share(neutral=1, happiness=1)),  # 2 of 5 is 40%
    ((5, 2, 0, 0, 2, 0, 0, 0, 0, 0), share(neutral=1)),   # 2 of 9 is under 30%; 5 of 9 > half
    ((6, 0, 0, 0, 0, 0, 0, 0, 4, 0), share(neutral=1)),   # unknown qualifies but is not the top
    ((4, 0, 0, 0, 0, 0, 0, 0, 6, 0), "unknown"),
    ((4, 0, 0, 0, 0, 0, 0, 0, 0, 4), share(neutral=1)),   # tie with NF: the earlier column wins
])
def test_multi_target_mode(votes, expected):
    targets, label, reason = targets_of(votes, "multi_target")
    if isinstance(expected, str):
        assert reason == expected and not targets.any()
    else:
        assert reason == ""
        np.testing.assert_array_equal(targets, expected)
        assert label == int(np.argmax(expected))


def test_multi_target_label_is_the_most_voted_target():
    _, label, _ = targets_of((0, 4, 0, 0, 6, 0, 0, 0, 0, 0), "multi_target")
    assert FERPLUS_EMOTIONS[label] == "anger"


def test_ferplus_targets_checks_its_input():
    with pytest.raises(ValueError, match="mode must be one of"):
        ferplus_targets(np.zeros((1, 10)), "vote")
    with pytest.raises(ValueError, match=r"shape \(n, 10\)"):
        ferplus_targets(np.zeros((1, 8)), "majority")


# ----------------------------------------------------------------------------- FER+ loader

def test_load_ferplus_majority(fer_csv, plus_csv):
    samples = load_ferplus(fer_csv, plus_csv, "majority")
    frame = samples.frame
    assert samples.classes == FERPLUS_EMOTIONS
    assert frame["row"].tolist() == [1, 2, 4, 5]
    assert frame["emotion"].tolist() == ["neutral", "happiness", "sadness", "surprise"]
    assert frame.attrs["dropped"] == {"no_majority": 1, "not_face": 1}
    assert frame.attrs["dropped_rows"] == {"no_majority": [0], "not_face": [3]}
    assert frame["split"].tolist() == ["train", "train", "test", "train"]
    assert frame["fer2013_emotion"].tolist() == ["happy", "neutral", "fear", "surprise"]
    votes = frame[list(FERPLUS_VOTE_COLUMNS)].to_numpy().tolist()
    assert votes == [list(PLUS_VOTES[row]) for row in (1, 2, 4, 5)]
    np.testing.assert_array_equal(soft_targets(samples), np.eye(8, dtype="float32")[[0, 1, 3, 2]])
    for row, index in zip(frame["row"], frame["image_index"]):
        np.testing.assert_array_equal(samples.images[index], face(row))


def test_load_ferplus_soft_targets_and_eval_mode(fer_csv, plus_csv):
    soft = load_ferplus(fer_csv, plus_csv, "crossentropy")
    first = soft.frame.iloc[0]   # row 0: 4,3,2 of 9 -> 4+3 = 78% >= 75%
    assert first["row"] == 0
    assert first["target_neutral"] == pytest.approx(4 / 7)
    assert first["target_anger"] == pytest.approx(3 / 7)
    assert first["target_disgust"] == 0
    mixed = load_ferplus(fer_csv, plus_csv, "crossentropy", eval_mode="majority",
                         usage=["Training", "PrivateTest"])
    assert mixed.frame.attrs["eval_mode"] == "majority"
    test_row = mixed.frame[mixed.frame["split"] == "test"].iloc[0]   # row 4 under majority
    assert test_row["target_sadness"] == 1.0 and test_row["target_neutral"] == 0.0
    assert set(mixed.frame["usage"]) == {"Training", "PrivateTest"}


def test_draw_hard_targets_follows_the_distribution(fer_csv, plus_csv):
    soft = load_ferplus(fer_csv, plus_csv, "probability")
    draws = np.stack([draw_hard_targets(soft, seed) for seed in range(400)])
    assert set(np.unique(draws)) == {0.0, 1.0} and (draws.sum(axis=2) == 1).all()
    support = soft_targets(soft) > 0
    assert not (draws.any(axis=0) & ~support).any()
    np.testing.assert_allclose(draws.mean(axis=0), soft_targets(soft), atol=0.08)


def test_rows_without_image_name_are_dropped_and_reported(fer_csv, tmp_path):
    plus = write_ferplus(tmp_path / "named.csv", plus_rows(unnamed=[2]))
    samples = load_ferplus(fer_csv, plus, "majority")
    assert samples.frame.attrs["dropped_rows"]["no_image_name"] == [2]
    assert 2 not in samples.frame["row"].tolist()


def test_row_count_mismatch_names_both_files(fer_csv, tmp_path):
    plus = write_ferplus(tmp_path / "short.csv", plus_rows(usages=USAGES[:5]))
    expected = f"FER2013 file {fer_csv} has 6 rows but FER+ file {plus} has 5"
    with pytest.raises(FER2013FormatError, match=re.escape(expected)):
        load_ferplus(fer_csv, plus)


def test_usage_disagreement_means_misaligned_files(fer_csv, tmp_path):
    usages = list(USAGES)
    usages[3] = "Training"
    plus = write_ferplus(tmp_path / "moved.csv", plus_rows(usages=usages))
    with pytest.raises(FER2013FormatError, match="row 3: FER2013 file .* says Usage 'PublicTest' "
                                                 "but FER\\+ file .* says 'Training'"):
        load_ferplus(fer_csv, plus)


def test_bad_vote_and_missing_vote_column(fer_csv, tmp_path):
    votes = [list(v) for v in PLUS_VOTES]
    votes[4][5] = "two"
    plus = write_ferplus(tmp_path / "v.csv", plus_rows(votes=votes))
    with pytest.raises(FER2013FormatError, match=re.escape(
            f"FER+ file {plus}, row 4: 'disgust' is 'two', expected a whole vote count >= 0")):
        read_ferplus_votes(plus)
    with pytest.warns(UserWarning, match="skipped 1 rows"):
        samples = load_ferplus(fer_csv, plus, on_error="skip")
    assert samples.frame.attrs["dropped_rows"]["ferplus_row_skipped"] == [4]
    assert samples.frame.attrs["skipped"][0]["file"] == "FER+"
    broken = tmp_path / "nocol.csv"
    broken.write_text(FERPLUS_HEADER.replace(",NF", ",nf") + "\n")
    with pytest.raises(FER2013FormatError, match=r"missing column\(s\) \['NF'\] \(did you mean 'nf'"):
        read_ferplus_votes(broken)


# ----------------------------------------------------------------------------- vote rules

# Hand-made vote rows for seed 002 (columns in FERPLUS_VOTE_COLUMNS order) and the class each
# should get under configs/ferplus_seed002_rules.yaml.
SEED002_CASES = [
    ((2, 0, 0, 1, 5, 1, 1, 0, 0, 0), "Angry"),     # anger 5 beats every other emotion, > 2
    ((1, 1, 1, 1, 2, 1, 1, 1, 1, 0), None),        # anger tops but only 2 votes
    ((4, 0, 0, 0, 4, 2, 0, 0, 0, 0), None),        # anger ties neutral: not strictly above
    ((5, 2, 2, 0, 0, 0, 0, 1, 0, 0), "Focused"),   # no sadness or anger, neutral tops
    ((8, 0, 2, 0, 0, 0, 0, 0, 0, 0), "Focused"),   # Neutral's rules hold too; Focused is first
    ((4, 0, 0, 5, 1, 0, 0, 0, 0, 0), "Bored"),     # 1 + 2 < 5, no happiness or fear
    ((4, 0, 0, 3, 1, 0, 0, 0, 2, 0), None),        # 1 + 2 == 3 is not < 3; anger != 0
    ((7, 1, 0, 1, 1, 0, 0, 0, 0, 0), "Neutral"),   # neutral 7 > 6; Focused and Bored fail
    ((6, 1, 0, 1, 1, 0, 0, 0, 1, 0), None),        # neutral 6 is not > 6
    ((0, 0, 0, 0, 0, 0, 0, 0, 3, 7), None),        # not a face: nothing matches
]


def votes_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame([list(r) for r in rows], columns=list(FERPLUS_VOTE_COLUMNS))
    return frame.assign(row=np.arange(len(frame)) * 10)


def test_seed002_config_loads():
    rules = load_vote_rules(SEED002)
    assert rules.classes == ("Neutral", "Angry", "Focused", "Bored")
    assert [rule.label for rule in rules.rules] == ["Angry", "Focused", "Bored", "Neutral"]
    assert [len(rule.conditions) for rule in rules.rules] == [2, 3, 5, 2]


def test_seed002_rules_on_hand_made_votes():
    frame = votes_frame([votes for votes, _ in SEED002_CASES])
    labelled = apply_vote_rules(frame, load_vote_rules(SEED002))
    expected = {row * 10: name for row, (_, name) in enumerate(SEED002_CASES) if name}
    assert dict(zip(labelled["row"], labelled["class_name"])) == expected
    classes = labelled.attrs["classes"]
    assert [classes[i] for i in labelled["label"]] == labelled["class_name"].tolist()
    missed = [row * 10 for row, (_, name) in enumerate(SEED002_CASES) if name is None]
    assert labelled.attrs["dropped"] == {"no_rule_matched": len(missed)}
    assert labelled.attrs["dropped_rows"] == {"no_rule_matched": missed}


def test_first_matching_rule_wins():
    frame = votes_frame([(8, 0, 2, 0, 0, 0, 0, 0, 0, 0)])
    rules = load_vote_rules(SEED002)
    neutral_first = (rules.rules[3],) + rules.rules[:3]
    assert apply_vote_rules(frame, rules)["class_name"].tolist() == ["Focused"]
    assert apply_vote_rules(frame, neutral_first)["class_name"].tolist() == ["Neutral"]
    assert apply_vote_rules(frame, neutral_first)["rule"].tolist() == [1]


def test_rule_forms_and_expressions():
    frame = votes_frame([(5, 0, 0, 1, 0, 0, 0, 0, 4, 0), (6, 0, 0, 0, 0, 0, 0, 0, 0, 4),
                         (2, 3, 0, 0, 0, 0, 0, 0, 0, 5)])
    rules = parse_vote_rules([
        {"class": "Focused", "when": {"neutral": ">=5", "sadness": ">=1"}},
        {"class": "Calm", "when": {"neutral": [">= 5", "<= 6"], "sadness": 0}},
        {"class": "Other", "when": "sum(neutral, happiness) - min(happiness, NF) == 2"},
    ])
    labelled = apply_vote_rules(frame, rules)
    assert labelled["class_name"].tolist() == ["Focused", "Calm", "Other"]
    sad = votes_frame([(0, 0, 0, 3, 0, 0, 0, 0, 0, 0)])
    assert VoteCondition.parse("anger+2<sadness").holds(sad).all()
    assert apply_vote_rules(frame, [{"class": "All", "when": []}])["label"].tolist() == [0, 0, 0]


@pytest.mark.parametrize("spec, message", [
    ([{"when": ["anger > 2"]}], "rule 1: field 'class' is missing"),
    ([{"class": "A", "when": ["anger > 2"]}, {"class": "B"}], "rule 2: field 'when' is missing"),
    ([{"class": "A", "when": ["anger > 2"], "priority": 1}], "rule 1: unknown field(s) ['priority']"),
    ([{"class": "A", "when": None}], "rule 1 ('A'), field 'when': is empty"),
    ([{"class": "", "when": ["anger > 2"]}], "rule 1, field 'class': must be a non-empty name"),
    ([{"class": "A", "when": ["neutral => 5"]}],
     "rule 1 ('A'), field 'when', condition 'neutral => 5': unexpected '=> 5'"),
    ([{"class": "A", "when": ["nuetral > 5"]}],
     "condition 'nuetral > 5': unknown vote column(s) ['nuetral']"),
    ([{"class": "A", "when": ["1 < anger < 3"]}], "needs exactly one comparison"),
    ([{"class": "A", "when": ["anger > max(neutral, fear"]}], "max(...) is missing its closing ')'"),
    ([{"class": "A", "when": ["1 < 2"]}], "compares only numbers"),
    ([{"class": "A", "when": ["anger > 2.5"]}], "unexpected '.5'"),
    ([{"class": "A", "when": ["__import__('os') > 1"]}], "unexpected"),
    ([{"class": "A", "when": {"anger": 2.5}}], "field 'when': 'when' entry for 'anger' must be"),
    ({"classes": ["A", "B"], "rules": [{"class": "A", "when": []}]}, "['B'] have no rule"),
    ({"classes": ["B"], "rules": [{"class": "A", "when": []}]},
     "rule 1, field 'class': 'A' is not in 'classes'"),
    ({"rule": []}, "unknown top-level field(s) ['rule']"),
    ([], "'rules' must be a non-empty list"),
    (["anger > 2"], "rule 1: must be a mapping"),
])
def test_malformed_rules_are_named(spec, message):
    with pytest.raises(VoteRuleError, match=re.escape(message)):
        parse_vote_rules(spec)


def test_rule_file_errors_name_the_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n"
                    "  - class: A\n    when: [anger > 2]\n"
                    "  - class: B\n    when: [sadnes > 1]\n")
    with pytest.raises(VoteRuleError, match=re.escape(f"vote rules {path}: rule 2 ('B'), field 'when', "
                                                      "condition 'sadnes > 1': unknown vote column")):
        load_vote_rules(path)
    path.write_text("rules: [class: A\n")
    with pytest.raises(VoteRuleError, match="not valid YAML"):
        load_vote_rules(path)
    with pytest.raises(ValueError, match=r"column\(s\) \['anger'\] that the frame lacks"):
        apply_vote_rules(pd.DataFrame({"neutral": [1]}), [{"class": "A", "when": ["anger > 2"]}])


def test_load_ferplus_rules(fer_csv, plus_csv):
    samples = load_ferplus_rules(fer_csv, plus_csv, SEED002)
    assert samples.classes == ("Neutral", "Angry", "Focused", "Bored")
    # Only row 4 (2,0,0,6,2,...) matches: Bored (no happiness or fear, 2 + 2 < 6). Row 1
    # (6,0,1,1,0,...) fails Focused (sadness 1), Bored (0 + 2 < 1 is false) and Neutral (6 > 6).
    assert samples.frame["row"].tolist() == [4]
    assert samples.frame["class_name"].tolist() == ["Bored"]
    assert samples.frame.attrs["dropped"] == {"no_rule_matched": 5}
    plus = write_ferplus(plus_csv.parent / "seed.csv",
                         plus_rows(votes=[votes for votes, _ in SEED002_CASES[:6]]))
    samples = load_ferplus_rules(fer_csv, plus, SEED002)
    assert samples.frame["class_name"].tolist() == ["Angry", "Focused", "Focused", "Bored"]
    assert samples.frame["row"].tolist() == [0, 3, 4, 5]
    np.testing.assert_array_equal(samples.images[samples.frame["image_index"][1]], face(3))
    assert samples.frame.attrs["dropped_rows"] == {"no_rule_matched": [1, 2]}


# ----------------------------------------------------------------------------- FER+ votes mixed into FER2013 labels

def test_ferplus_mix_blends_votes_into_training_labels_only(fer_csv, plus_csv):
    from ferkit.data.sources.ferplus import mix_ferplus_targets
    samples = load_fer2013(fer_csv)
    mixed = mix_ferplus_targets(samples, plus_csv, weight=0.3)
    columns = [f"target_{name}" for name in FER2013_EMOTIONS]
    targets = mixed.frame[columns].to_numpy()
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-6)
    one_hot = np.eye(7)[samples.labels]
    # row 1: Training, FER2013 label happy (3); votes neutral 6, surprise 1, sadness 1, unknown 2
    expected = 0.7 * one_hot[1] + 0.3 * np.array([0, 0, 0, 0, 1, 1, 6]) / 8
    np.testing.assert_allclose(targets[1], expected, atol=1e-6)
    # PublicTest (row 3) and PrivateTest (row 4) keep their one-hot labels
    np.testing.assert_array_equal(targets[3], one_hot[3])
    np.testing.assert_array_equal(targets[4], one_hot[4])
    # with weight below 0.5 the FER2013 label stays the most likely class everywhere
    assert (targets.argmax(axis=1) == samples.labels).all()


def test_ferplus_mix_keeps_one_hot_where_no_vote_has_a_fer2013_class(tmp_path, fer_rows):
    from ferkit.data.sources.ferplus import mix_ferplus_targets
    votes = [list(v) for v in PLUS_VOTES]
    votes[0] = [0, 0, 0, 0, 0, 0, 0, 3, 3, 4]  # contempt, unknown and not-a-face only
    plus = write_ferplus(tmp_path / "fer2013new.csv", plus_rows(votes=votes))
    samples = load_fer2013(write_fer2013(tmp_path / "fer2013.csv", fer_rows))
    mixed = mix_ferplus_targets(samples, plus, weight=0.5)
    row = mixed.frame.loc[0, [f"target_{name}" for name in FER2013_EMOTIONS]].to_numpy(float)
    np.testing.assert_array_equal(row, np.eye(7)[samples.labels[0]])


def test_ferplus_mix_rejects_bad_weights_and_misaligned_votes(tmp_path, fer_csv):
    from ferkit.data.sources.ferplus import mix_ferplus_targets
    samples = load_fer2013(fer_csv)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mix_ferplus_targets(samples, pd.DataFrame(), weight=1.5)
    short = write_ferplus(tmp_path / "short.csv", plus_rows()[:3])
    with pytest.raises(FER2013FormatError, match="no row for 3 FER2013 rows"):
        mix_ferplus_targets(samples, short, weight=0.3)


# ----------------------------------------------------------------------------- FER+ votes as a second target

def test_ferplus_votes_become_a_second_target_and_leave_the_label_alone(fer_csv, plus_csv):
    from ferkit.data.sources.ferplus import FERPLUS_VOTE_TARGETS, add_ferplus_votes
    from ferkit.data.pipeline import targets
    samples = load_fer2013(fer_csv)
    added = add_ferplus_votes(samples, plus_csv)
    np.testing.assert_array_equal(added.labels, samples.labels)  # FER2013 labels unchanged
    votes = added.frame[list(FERPLUS_VOTE_TARGETS)].to_numpy()
    # row 1: neutral 6, surprise 1, sadness 1 (+ 2 unknown, left out) -> shares of 8
    np.testing.assert_allclose(votes[1], np.array([6, 0, 1, 1, 0, 0, 0, 0]) / 8, atol=1e-6)
    # row 3: only unknown / not-a-face votes -> zero target, so it adds nothing to the loss
    np.testing.assert_array_equal(votes[3], np.zeros(8))
    # every split gets the votes (validation loss includes the head), every other row sums to 1
    np.testing.assert_allclose(np.delete(votes, 3, axis=0).sum(axis=1), 1.0, atol=1e-6)
    heads = targets(added, ["emotion", "ferplus"])
    np.testing.assert_array_equal(heads["ferplus"], votes.astype("float32"))
    np.testing.assert_array_equal(heads["emotion"].argmax(axis=1), samples.labels)
    with pytest.raises(ValueError, match="ferplus_aux"):
        targets(samples, ["ferplus"])  # no vote columns: the error says how to add them


def test_a_config_asking_for_votes_names_the_missing_votes_file(fer_csv):
    from ferkit.config import config_from_dict
    from ferkit.data.sources import load_from_config
    config = config_from_dict({"data": {"source": "fer2013", "path": str(fer_csv.parent),
                                        "ferplus_aux": True}})
    with pytest.raises(FileNotFoundError, match=r"data.ferplus_aux .*fer2013new.csv.*"
                                                r"data.ferplus_aux=false"):
        load_from_config(config.data, fer_csv.parent)
