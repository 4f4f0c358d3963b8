"""ferkit.data.synthetic: determinism, labels, visible AUs, attributes, bias, CK+ layout."""
from __future__ import annotations

import dataclasses
import re

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.data import synthetic as syn
from ferkit.data.labels import CKPLUS_EMOTIONS, HIGH_LEVEL_OF, au_column

SMALL = syn.SyntheticConfig(size=24, n_subjects=12)
EXACT = dict(au_omit_prob=0.0, au_extra_prob=0.0, optional_au_prob=0.0)


def au_sets(frame: pd.DataFrame) -> list[set[int]]:
    return [{au for au in syn.AUS if row[au_column(au)] == 1} for _, row in frame.iterrows()]


def box(image: np.ndarray, region: tuple[float, float, float, float]) -> np.ndarray:
    size = image.shape[0]
    y0, y1, x0, x1 = region
    return image[int(y0 * size):int(np.ceil(y1 * size)), int(x0 * size):int(np.ceil(x1 * size))]


def smooth_contrast(image: np.ndarray) -> float:
    """Grey-level spread with pixel noise blurred away."""
    return float(cv2.GaussianBlur(image.astype(np.float32), (0, 0), 2.0).std())


# ----------------------------------------------------------------------------- determinism

def test_same_seed_gives_identical_images_and_frames():
    first_images, first_frame = syn.SyntheticFaces(SMALL, seed=7).sample(10)
    second_images, second_frame = syn.SyntheticFaces(SMALL, seed=7).sample(10)
    assert first_images.tobytes() == second_images.tobytes()
    pd.testing.assert_frame_equal(first_frame, second_frame)


def test_different_seed_gives_different_images():
    first, _ = syn.SyntheticFaces(SMALL, seed=1).sample(6)
    second, _ = syn.SyntheticFaces(SMALL, seed=2).sample(6)
    assert not np.array_equal(first, second)


def test_successive_samples_continue_the_stream():
    faces = syn.SyntheticFaces(SMALL, seed=3)
    first, _ = faces.sample(4)
    second, _ = faces.sample(4)
    assert not np.array_equal(first, second)


def test_sample_shapes_dtype_and_columns():
    images, frame = syn.SyntheticFaces(SMALL, seed=0).sample(5)
    assert images.shape == (5, 24, 24) and images.dtype == np.uint8
    expected = (["emotion", "emotion_name", "high_level"] + [au_column(a) for a in syn.AUS]
                + ["subject", "skin_tone", "age_group", "gender"])
    assert list(frame.columns) == expected
    assert frame["subject"].str.fullmatch(r"S\d{3}").all()


# ----------------------------------------------------------------------------- labels

@pytest.mark.parametrize("extra", [{}, {"optional_au_prob": 1.0}])
def test_au_columns_equal_prototype_when_nothing_is_omitted_or_added(extra):
    config = syn.SyntheticConfig(size=16, n_subjects=4, **{**EXACT, **extra})
    _, frame = syn.SyntheticFaces(config, seed=4).sample(60)
    optional = bool(extra)
    for name, aus in zip(frame["emotion_name"], au_sets(frame)):
        expected = set(syn.EMOTION_PROTOTYPES[name]) | (set(syn.OPTIONAL_AUS[name]) if optional else set())
        assert aus == expected, name


def test_omitting_everything_keeps_the_key_aus():
    config = syn.SyntheticConfig(size=16, n_subjects=4, **{**EXACT, "au_omit_prob": 1.0})
    _, frame = syn.SyntheticFaces(config, seed=5).sample(40)
    for name, aus in zip(frame["emotion_name"], au_sets(frame)):
        assert aus == set(syn.KEY_AUS[name]) and aus, name


def test_extras_are_added_to_emotions_but_never_to_neutral():
    weights = {name: 1.0 for name in CKPLUS_EMOTIONS}
    config = syn.SyntheticConfig(size=16, n_subjects=4, emotion_proportions=weights,
                                 **{**EXACT, "au_extra_prob": 1.0})
    _, frame = syn.SyntheticFaces(config, seed=6).sample(60)
    for name, aus in zip(frame["emotion_name"], au_sets(frame)):
        assert aus == (set() if name == "neutral" else set(syn.AUS)), name


def test_names_and_high_level_agree_with_the_code():
    weights = {name: 1.0 for name in CKPLUS_EMOTIONS}
    config = syn.SyntheticConfig(size=16, n_subjects=4, emotion_proportions=weights)
    _, frame = syn.SyntheticFaces(config, seed=8).sample(80)
    assert set(frame["emotion_name"]) == set(CKPLUS_EMOTIONS)
    for code, name, level in frame[["emotion", "emotion_name", "high_level"]].itertuples(index=False):
        assert CKPLUS_EMOTIONS[code] == name
        assert level == HIGH_LEVEL_OF.get(name, "neutral")


def test_emotion_proportions_are_followed():
    config = syn.SyntheticConfig(size=16, n_subjects=4, emotion_proportions={"happy": 3, "anger": 1})
    _, frame = syn.SyntheticFaces(config, seed=9).sample(400)
    assert set(frame["emotion_name"]) == {"happy", "anger"}
    assert abs((frame["emotion_name"] == "happy").mean() - 0.75) < 0.07


def test_contempt_aus_are_sampled_one_sided():
    expression = syn.sample_expression("contempt", syn.SyntheticConfig(), np.random.default_rng(0))
    assert set(expression.unilateral) == {12, 14}
    assert len(set(expression.unilateral.values())) == 1


# ----------------------------------------------------------------------------- drawing

IDENTITIES = [syn.Identity()] + syn.SyntheticFaces(syn.SyntheticConfig(n_subjects=3), seed=11).subjects


@pytest.mark.parametrize("au", syn.AUS)
def test_each_au_is_drawn_inside_its_region(au):
    for identity in IDENTITIES:
        neutral = syn.render_face({}, identity).astype(float)
        active = syn.render_face({au: 1.0}, identity).astype(float)
        change = np.abs(active - neutral)
        inside = box(change, syn.AU_REGIONS[au])
        assert inside.mean() > 1.0, (au, identity.subject)
        assert inside.sum() / change.sum() > 0.8, (au, identity.subject)


def test_intensity_is_continuous():
    neutral = syn.render_face({}).astype(float)
    change = [np.abs(syn.render_face({12: level}).astype(float) - neutral).sum()
              for level in (0.0, 0.5, 1.0)]
    assert change[0] == 0 < change[1] < change[2]


def test_one_sided_au_changes_only_that_side():
    neutral = syn.render_face({}, size=48).astype(float)
    smirk = syn.render_face({12: 1.0, 14: 1.0}, size=48, unilateral={12: "right", 14: "right"})
    change = np.abs(smirk.astype(float) - neutral)
    assert change[:, 25:].sum() > 3 * change[:, :23].sum()   # the lip line bends a little across


def test_nuisance_moves_the_face():
    plain = syn.render_face({}, size=32)
    turned = syn.render_face({}, nuisance=syn.Nuisance(roll_degrees=15, shift_x=0.05), size=32)
    assert np.abs(plain.astype(float) - turned).mean() > 3


def test_nuisance_off_switch_and_independent_knobs():
    off = syn.sample_nuisance(syn.SyntheticConfig(nuisance=False), np.random.default_rng(0))
    assert off == syn.Nuisance()
    on = syn.sample_nuisance(syn.SyntheticConfig(glasses_prob=1.0), np.random.default_rng(1))
    no_glasses = syn.sample_nuisance(syn.SyntheticConfig(glasses_prob=0.0), np.random.default_rng(1))
    assert on.glasses and not no_glasses.glasses
    assert dataclass_without(on, "glasses") == dataclass_without(no_glasses, "glasses")


def dataclass_without(value, field: str) -> dict:
    fields = dict(vars(value))
    fields.pop(field)
    return fields


# ----------------------------------------------------------------------------- attributes and bias

def test_attribute_proportions_follow_the_config():
    proportions = {"skin_tone": {"light": 0.6, "medium": 0.3, "dark": 0.1},
                   "gender": {"female": 0.2, "male": 0.8}}
    config = syn.SyntheticConfig(size=16, n_subjects=200, attribute_proportions=proportions)
    faces = syn.SyntheticFaces(config, seed=12)
    subjects = faces.subject_frame()
    assert subjects["skin_tone"].value_counts().to_dict() == {"light": 120, "medium": 60, "dark": 20}
    assert sorted(subjects["age_group"].value_counts()) == [66, 67, 67]
    _, frame = faces.sample(400)
    assert abs((frame["skin_tone"] == "light").mean() - 0.6) < 0.08
    assert abs((frame["gender"] == "male").mean() - 0.8) < 0.08


def test_difficulty_weakens_expression_and_contrast():
    happy = {6: 1.0, 12: 1.0, 25: 1.0}
    strength, contrast = [], []
    for difficulty in (0.0, 0.8):
        neutral = syn.render_face({}, difficulty=difficulty, seed=3).astype(float)
        smiling = syn.render_face(happy, difficulty=difficulty, seed=3).astype(float)
        strength.append(np.abs(smiling - neutral).mean())
        contrast.append(smooth_contrast(neutral))
    assert strength[1] < 0.7 * strength[0]
    assert contrast[1] < 0.7 * contrast[0]


def test_group_difficulty_hits_only_the_named_group():
    plain = syn.SyntheticConfig(size=24, n_subjects=30)
    biased = syn.SyntheticConfig(size=24, n_subjects=30, group_difficulty={"skin_tone": {"dark": 0.8}})
    plain_images, plain_frame = syn.SyntheticFaces(plain, seed=13).sample(60)
    biased_images, biased_frame = syn.SyntheticFaces(biased, seed=13).sample(60)
    pd.testing.assert_frame_equal(plain_frame, biased_frame)
    dark = (biased_frame["skin_tone"] == "dark").to_numpy()
    assert 0 < dark.sum() < len(dark)
    assert np.array_equal(plain_images[~dark], biased_images[~dark])
    for before, after in zip(plain_images[dark], biased_images[dark]):
        assert smooth_contrast(after) < smooth_contrast(before)


# ----------------------------------------------------------------------------- CK+ writer

CK_NUMBER = r"   -?\d\.\d{7}e[+-]\d{2}"


def parse_ck_numbers(path) -> list[list[float]]:
    return [[float(token) for token in line.split()] for line in path.read_text().splitlines()]


def expected_sequences(config, n_subjects, sequences, frames, seed=0):
    config = dataclasses.replace(config, n_subjects=n_subjects)
    return {(identity.subject, number): expression for identity, number, expression, _ in
            syn.SyntheticFaces(config, seed).sequences(sequences, frames)}


def test_write_ckplus_full_layout(tmp_path):
    config = syn.SyntheticConfig(size=32).without_nuisance()
    root = syn.write_ckplus(tmp_path, n_subjects=2, sequences_per_subject=3, frames_per_sequence=4,
                            config=config)
    images = sorted(p.relative_to(root).as_posix() for p in (root / "cohn-kanade-images").rglob("*.png"))
    assert len(images) == 2 * 3 * 4
    pattern = re.compile(r"cohn-kanade-images/(S\d{3})/(\d{3})/\1_\2_(\d{8})\.png")
    assert all(pattern.fullmatch(path) for path in images)
    expected = expected_sequences(config, 2, 3, 4)
    for (subject, number), expression in expected.items():
        stem = f"{subject}_{number:03d}_00000004"
        emotion_file = root / "Emotion" / subject / f"{number:03d}" / f"{stem}_emotion.txt"
        assert re.fullmatch(CK_NUMBER + r"\n", emotion_file.read_text())
        assert parse_ck_numbers(emotion_file) == [[CKPLUS_EMOTIONS.index(expression.emotion)]]
        facs = parse_ck_numbers(root / "FACS" / subject / f"{number:03d}" / f"{stem}_facs.txt")
        assert [int(au) for au, _ in facs] == sorted(expression.intensities)
        assert all(1 <= code <= 5 for _, code in facs)
    first_frames = [cv2.imread(str(root / p), cv2.IMREAD_GRAYSCALE) for p in images if p.endswith("1.png")]
    last = cv2.imread(str(root / images[3]), cv2.IMREAD_GRAYSCALE)
    assert first_frames[0].shape == (32, 32)
    assert np.array_equal(first_frames[0], first_frames[1])   # neutral onset, same subject
    assert not np.array_equal(first_frames[0], last)
    subjects = pd.read_csv(root / "subjects.csv")
    assert list(subjects.columns) == ["subject", "skin_tone", "age_group", "gender"]
    assert subjects["subject"].tolist() == ["S501", "S502"]


def test_write_ckplus_ck48_layout(tmp_path):
    root = syn.write_ckplus(tmp_path, n_subjects=2, sequences_per_subject=3, frames_per_sequence=6,
                            config=syn.SyntheticConfig(size=48), layout="ck48")
    images = sorted(p.relative_to(root).as_posix() for p in (root / "CK+48").rglob("*.png"))
    assert len(images) == 2 * 3 * 3
    pattern = re.compile(r"CK\+48/([a-z]+)/(S\d{3})_(\d{3})_(0000000[456])\.png")
    matches = [pattern.fullmatch(path) for path in images]
    assert all(matches)
    assert {m.group(1) for m in matches} <= set(syn.CK48_FOLDERS)
    expected = expected_sequences(syn.SyntheticConfig(size=48), 2, 3, 6)
    for match in matches:
        assert expected[(match.group(2), int(match.group(3)))].emotion == match.group(1)
    facs_files = list((root / "FACS").rglob("*_facs.txt"))
    assert len(facs_files) == 6
    for path in facs_files:
        assert re.fullmatch(r"S\d{3}_\d{3}_00000006_facs", path.stem)
        assert all(len(values) == 2 for values in parse_ck_numbers(path))
    assert not (root / "Emotion").exists()
    assert (root / "subjects.csv").exists()


def test_frames_of_a_sequence_share_the_scene():
    faces = syn.SyntheticFaces(syn.SyntheticConfig(size=32, n_subjects=1, clutter=1.0), seed=14)
    (_, _, _, first), (_, _, _, second) = list(faces.sequences(2, 3))
    within = np.abs(first[0].astype(float) - first[1]).mean()
    across = np.abs(first[0].astype(float) - second[0]).mean()
    assert within < 0.5 * across


def test_facs_intensity_codes():
    assert [syn.facs_code(v) for v in (0.0, 0.05, 0.2, 0.5, 1.0)] == [0, 1, 1, 3, 5]


def test_plot_grid_writes_a_png(tmp_path):
    images, frame = syn.SyntheticFaces(SMALL, seed=15).sample(3)
    path = syn.plot_grid(images, frame, tmp_path / "grid.png", columns=2)
    assert cv2.imread(str(path)).shape[0] > 100


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, field", [
    ({"emotion_proportions": {"joy": 1.0}}, "emotion_proportions"),
    ({"emotion_proportions": {"happy": -1.0}}, "emotion_proportions"),
    ({"au_omit_prob": 1.5}, "au_omit_prob"),
    ({"au_extra_prob": -0.1}, "au_extra_prob"),
    ({"glasses_prob": 2.0}, "glasses_prob"),
    ({"hand_prob": -1.0}, "hand_prob"),
    ({"intensity_range": (0.8, 0.2)}, "intensity_range"),
    ({"attribute_proportions": {"eye_colour": {"blue": 1.0}}}, "attribute_proportions"),
    ({"attribute_proportions": {"skin_tone": {"purple": 1.0}}}, "attribute_proportions"),
    ({"group_difficulty": {"skin_tone": {"dark": 1.5}}}, "group_difficulty"),
    ({"group_difficulty": {"age_group": {"ancient": 0.5}}}, "group_difficulty"),
    ({"size": 4}, "size"),
])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        syn.SyntheticConfig(**kwargs)


def test_bad_layout_and_aus_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="layout"):
        syn.write_ckplus(tmp_path, n_subjects=1, layout="bogus")
    with pytest.raises(ValueError, match="aus"):
        syn.render_face({3: 1.0})
    with pytest.raises(ValueError, match="aus"):
        syn.render_face({12: 2.0})
    with pytest.raises(ValueError, match="unilateral"):
        syn.render_face({12: 1.0}, unilateral={12: "middle"})
    with pytest.raises(ValueError, match="n_subjects"):
        syn.write_ckplus(tmp_path, n_subjects=600)
