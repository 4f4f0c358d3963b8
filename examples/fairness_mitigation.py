"""Inject a known skin-tone bias into synthetic CK+ data, measure it, then narrow it.

The loop a fairness audit follows, on data whose bias is known by construction:

1. Write a synthetic CK+ tree in which the ``dark`` skin-tone group is both rarer
   (``--dark-share`` of the subjects, 15 % by default) and harder to read
   (``--difficulty``: weaker action units, lower contrast, extra noise).
2. Load it, split it subject-disjointly (60 / 20 / 20, split within each skin-tone group
   so the small group is in every split) and train a baseline: ``ckplus_small`` with
   its emotion and action-unit heads.
3. Per-group accuracy and macro-F1 with bootstrap intervals on the test subjects, for
   skin tone, gender and age group: the injected gap shows up.
4. Retrain with a mitigation applied to the training split only, on the same split:
   ``weights`` (inverse-frequency weights per skin tone x class, used as per-image loss
   weights), ``oversample`` (copies of training rows until every skin tone x class cell
   is as large as the largest) or ``both`` (each of the two, as separate models).
5. Compare before and after: table, disparity (max - min) and bar plots.

    python examples/fairness_mitigation.py                       # 10-13 min on 2 busy cores
    python examples/fairness_mitigation.py --difficulty 0.4 --dark-share 0.12   # docs/guide/fairness.md
    python examples/fairness_mitigation.py --strategy both --epochs 25
    python examples/fairness_mitigation.py --fast                # tiny smoke run (tests)

Everything goes under ``--out`` (default ``runs/fairness_mitigation``)::

    data/                      the synthetic CK+ tree (rewritten on every run)
    baseline/, weights/, ...   one training run directory each, with fairness/ inside
    comparison_<strategy>.{csv,md}
    plots/mitigation_<strategy>_{accuracy,macro_f1}.png
    summary.md                 every table printed on screen
    summary.json               disparities before / after, sizes, wall time
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from ferkit.config import Config, SplitConfig, config_from_dict
from ferkit.data import synthetic
from ferkit.data.samples import Samples
from ferkit.data.sources import load_ckplus, read_images
from ferkit.evaluation import fairness
from ferkit.evaluation.tables import to_markdown
from ferkit.workflows.experiment import SPLITS, assign_splits, train_on_samples

BIASED_ATTRIBUTE = "skin_tone"
BIASED_GROUP = "dark"
ATTRIBUTES = (BIASED_ATTRIBUTE, "gender", "age_group")
STRATEGIES = ("weights", "oversample")
REPORTED_METRICS = ("accuracy", "macro_f1")
IMAGE_SIZE = 48
FAST = dict(subjects=20, epochs=1, dark_share=0.25, n_boot=100)
#: ``ckplus_small`` at half width: about four times cheaper, so more epochs fit the budget.
MODEL_ARGS = {"filters": [16, 32, 64], "stem_filters": 16}
FAST_MODEL_ARGS = {"filters": [4], "blocks": [1], "stem_filters": 4}


# --------------------------------------------------------------------------- data
def biased_generator_config(dark_share: float, difficulty: float) -> synthetic.SyntheticConfig:
    """Synthetic faces whose dark-skinned subjects are ``dark_share`` of all and harder to read.

    Nuisance (pose, lighting, clutter) is off: the injected difficulty is then the only
    systematic difference between groups, and small models learn the task in minutes.
    """
    others = (1.0 - dark_share) / 2.0
    return synthetic.SyntheticConfig(
        size=IMAGE_SIZE, nuisance=False,
        attribute_proportions={BIASED_ATTRIBUTE: {"light": others, "medium": others, BIASED_GROUP: dark_share}},
        group_difficulty={BIASED_ATTRIBUTE: {BIASED_GROUP: difficulty}},
    )


def write_data(root: Path, subjects: int, seed: int, generator: synthetic.SyntheticConfig) -> Path:
    """A fresh synthetic CK+ tree (old files removed so a smaller run leaves no strays)."""
    shutil.rmtree(root, ignore_errors=True)
    return synthetic.write_ckplus(root, n_subjects=subjects, sequences_per_subject=7,
                                  frames_per_sequence=6, seed=seed, config=generator)


def load_samples(root: Path, min_au_count: int) -> Samples:
    """The tree's last three frames per sequence, images decoded, with subject attributes."""
    samples = load_ckplus(root, labels="ckplus7", n_peak=3, min_au_count=min_au_count)
    return read_images(samples, (IMAGE_SIZE, IMAGE_SIZE), channels=1)


def split_within_groups(samples: Samples, attribute: str, seed: int) -> Samples:
    """Subject-disjoint 60/20/20 split done separately inside each group of ``attribute``.

    Splitting all subjects together often leaves a small group out of the test split.
    Each group needs at least three subjects; a group still missing from a split is reported.
    """
    split = SplitConfig(method="group", by="subject", fractions=[0.6, 0.2, 0.2])
    groups = sorted(samples.frame[attribute].unique())
    parts = [assign_splits(samples.subset(samples.frame[attribute] == group), split, seed).frame
             for group in groups]
    frame = pd.concat(parts).sort_values("image_index").reset_index(drop=True)
    present = pd.crosstab(frame[attribute], frame["split"]).reindex(columns=SPLITS, fill_value=0)
    for group, counts in present.iterrows():
        if (counts == 0).any():
            print(f"warning: {attribute}={group} has no subjects in {list(counts[counts == 0].index)}")
    return dataclasses.replace(samples, frame=frame)


# --------------------------------------------------------------------------- mitigation
def with_group_weights(samples: Samples) -> Samples:
    """Training rows weighted so every skin tone x class cell carries the same total loss."""
    frame = samples.frame.assign(sample_weight=1.0)
    is_train = frame["split"] == "train"
    weights = fairness.group_weights(frame[is_train], [BIASED_ATTRIBUTE], label_column="label")
    frame.loc[is_train, "sample_weight"] = weights
    return dataclasses.replace(samples, frame=frame)


def with_oversampled_train(samples: Samples, seed: int) -> Samples:
    """Training rows copied until every skin tone x class cell matches the largest one."""
    train = samples.frame[samples.frame["split"] == "train"]
    balanced = fairness.rebalance(train, [BIASED_ATTRIBUTE], label_column="label", seed=seed)
    rest = samples.frame[samples.frame["split"] != "train"].assign(resampled=False)
    return dataclasses.replace(samples, frame=pd.concat([balanced, rest], ignore_index=True))


def mitigated(samples: Samples, strategy: str, seed: int) -> Samples:
    """``samples`` with ``strategy`` applied to the training split; val and test untouched."""
    if strategy == "weights":
        return with_group_weights(samples)
    return with_oversampled_train(samples, seed)


# --------------------------------------------------------------------------- training
def training_config(epochs: int, seed: int, fast: bool) -> Config:
    """``ckplus_small`` (emotion + AU heads), Adam 1e-3, early stopping on val loss, XLA."""
    raw = {
        "name": "fairness_mitigation", "seed": seed,
        "data": {"source": "ckplus", "image_size": [IMAGE_SIZE, IMAGE_SIZE], "channels": 1},
        "augment": {"flip": True, "rotation": 8.0, "shift": 0.05, "brightness": 0.1, "contrast": 0.1},
        "model": {"name": "ckplus_small", "args": MODEL_ARGS},
        "train": {"epochs": epochs, "batch_size": 32, "learning_rate": 1e-3, "patience": 6,
                  "jit_compile": True, "resume": False, "verbose": 2},
    }
    if fast:
        raw["augment"] = None
        raw["model"]["args"] = FAST_MODEL_ARGS
        raw["train"].update(jit_compile=False, verbose=0)
    return config_from_dict(raw, "fairness_mitigation example")


def train_size(samples: Samples) -> int:
    return int((samples.frame["split"] == "train").sum())


def with_step_budget(config: Config, samples: Samples, baseline_train_size: int) -> Config:
    """``config`` with epochs scaled so training takes as many steps as the baseline's.

    Oversampling makes each epoch longer; without this the mitigated model would simply
    train longer, and part of any gain would come from the extra steps.
    """
    epochs = max(1, round(config.train.epochs * baseline_train_size / train_size(samples)))
    return dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))


def train_and_audit(config: Config, samples: Samples, run_dir: Path, n_boot: int,
                    seed: int) -> fairness.FairnessReport:
    """Train on ``samples``, then write and return the fairness report of its test predictions."""
    print(f"{train_size(samples)} training images, {config.train.epochs} epochs", flush=True)
    result = train_on_samples(config, samples, run_dir)
    report = fairness.fairness_report(result.evaluation.predictions, list(ATTRIBUTES),
                                      list(samples.classes), n_boot=n_boot, seed=seed)
    report.write(run_dir / "fairness")
    return report


# --------------------------------------------------------------------------- tables
def _interval_text(intervals: pd.DataFrame, metric: str) -> pd.Series:
    chosen = intervals[intervals["metric"] == metric].set_index(["attribute", "group"])
    return chosen.apply(lambda row: f"[{row['lower']:.3f}, {row['upper']:.3f}]", axis=1)


def group_table(report: fairness.FairnessReport, attribute: str) -> pd.DataFrame:
    """One attribute's groups and aggregate rows: size, accuracy and macro-F1 with 95 % CIs."""
    table = report.by_group[report.by_group["attribute"] == attribute]
    table = table.set_index(["attribute", "group"])[["n_images", *REPORTED_METRICS]]
    for metric in REPORTED_METRICS:
        table[f"{metric}_95ci"] = _interval_text(report.intervals, metric).reindex(table.index).fillna("")
    columns = ["n_images"] + [c for m in REPORTED_METRICS for c in (m, f"{m}_95ci")]
    return table[columns].reset_index(level="attribute", drop=True).reset_index()


def disparity_change(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Difference (max - min) of each attribute's reported metrics, before and after."""
    comparison = fairness.compare_mitigation(before, after)
    gaps = comparison[(comparison["group"] == fairness.DIFFERENCE_ROW)
                      & comparison["metric"].isin(REPORTED_METRICS)]
    return gaps.drop(columns="group").rename(columns={
        "before": "gap_before", "after": "gap_after"}).reset_index(drop=True)


def reported_comparison(comparison: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """The comparison rows of one attribute for the reported metrics."""
    keep = (comparison["attribute"] == attribute) & comparison["metric"].isin(REPORTED_METRICS)
    return comparison[keep].reset_index(drop=True)


class Transcript:
    """Prints sections and keeps them for ``summary.md``."""

    def __init__(self):
        self.parts: list[str] = []

    def section(self, heading: str, body: str) -> None:
        text = f"## {heading}\n\n{body}"
        print("\n" + text, flush=True)
        self.parts.append(text)

    def table(self, heading: str, frame: pd.DataFrame) -> None:
        self.section(heading, to_markdown(frame, digits=3, index=False))

    def write(self, path: Path) -> None:
        path.write_text("# Fairness mitigation on synthetic CK+ with an injected bias\n\n"
                        + "\n".join(self.parts))


def print_model_tables(transcript: Transcript, name: str, report: fairness.FairnessReport) -> None:
    for attribute in ATTRIBUTES:
        transcript.table(f"{name}: {attribute} (test subjects)", group_table(report, attribute))


def compare_strategy(transcript: Transcript, out: Path, strategy: str,
                     before: fairness.FairnessReport, after: fairness.FairnessReport) -> pd.DataFrame:
    """Write the comparison table and plots for one strategy; print its disparity change."""
    comparison = fairness.compare_mitigation(before.by_group, after.by_group)
    comparison.to_csv(out / f"comparison_{strategy}.csv", index=False)
    (out / f"comparison_{strategy}.md").write_text(to_markdown(comparison, digits=4, index=False))
    for metric in REPORTED_METRICS:
        fairness.plot_mitigation_comparison(
            before.by_group, after.by_group, out / "plots" / f"mitigation_{strategy}_{metric}.png",
            metric=metric, title=f"{metric} per group: baseline (grey) vs {strategy} (blue)")
    gaps = disparity_change(before.by_group, after.by_group)
    transcript.table(f"Disparity (max - min) before / after: {strategy}", gaps)
    transcript.table(f"Comparison, {BIASED_ATTRIBUTE}: baseline vs {strategy}",
                     reported_comparison(comparison, BIASED_ATTRIBUTE))
    return gaps


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/fairness_mitigation", help="output folder")
    parser.add_argument("--strategy", choices=(*STRATEGIES, "both"), default="both",
                        help="mitigation: group loss weights, oversampling, or each of the two")
    parser.add_argument("--epochs", type=int, help="baseline epochs (default 30, 1 with --fast); every model gets "
                             "the baseline's number of training steps")
    parser.add_argument("--subjects", type=int, help="synthetic subjects (default 90, 20 with --fast)")
    parser.add_argument("--dark-share", type=float, help="share of dark-skinned subjects (default 0.15)")
    parser.add_argument("--difficulty", type=float, default=0.8,
                        help="injected difficulty of the dark group, 0..1 (default 0.8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, split and training")
    parser.add_argument("--fast", action="store_true", help="tiny data and model, 1 epoch")
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> dict:
    """Run sizes: explicit options, else the fast or the default values."""
    defaults = FAST if args.fast else dict(subjects=90, epochs=30, dark_share=0.15, n_boot=1000)
    chosen = {"subjects": args.subjects, "epochs": args.epochs, "dark_share": args.dark_share}
    return {key: chosen.get(key) if chosen.get(key) is not None else value
            for key, value in defaults.items()}


def prepare(out: Path, run: dict, args: argparse.Namespace) -> Samples:
    generator = biased_generator_config(run["dark_share"], args.difficulty)
    root = write_data(out / "data", run["subjects"], args.seed, generator)
    samples = load_samples(root, min_au_count=2 if args.fast else 10)
    samples = split_within_groups(samples, BIASED_ATTRIBUTE, args.seed)
    counts = pd.crosstab(samples.frame[BIASED_ATTRIBUTE], samples.frame["split"])
    print(f"synthetic CK+: {run['subjects']} subjects, {len(samples)} images, dark share "
          f"{run['dark_share']:.0%}, dark difficulty {args.difficulty}\n"
          f"images per {BIASED_ATTRIBUTE} and split:\n{counts.to_string()}", flush=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    run = settings(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    samples = prepare(out, run, args)
    config = training_config(run["epochs"], args.seed, args.fast)
    transcript = Transcript()

    print("\n# baseline", flush=True)
    baseline = train_and_audit(config, samples, out / "baseline", run["n_boot"], args.seed)
    print_model_tables(transcript, "baseline", baseline)
    strategies = STRATEGIES if args.strategy == "both" else (args.strategy,)
    summary = {"settings": {**run, "difficulty": args.difficulty, "seed": args.seed,
                            "strategy": args.strategy}, "disparities": {}}
    for strategy in strategies:
        print(f"\n# mitigation: {strategy}", flush=True)
        treated = mitigated(samples, strategy, args.seed)
        budget = with_step_budget(config, treated, train_size(samples))
        report = train_and_audit(budget, treated, out / strategy, run["n_boot"], args.seed)
        print_model_tables(transcript, strategy, report)
        gaps = compare_strategy(transcript, out, strategy, baseline, report)
        summary["disparities"][strategy] = gaps.to_dict(orient="records")

    summary["seconds"] = round(time.perf_counter() - start, 1)
    transcript.write(out / "summary.md")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\ndone in {summary['seconds']:.0f} s; tables and plots under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
