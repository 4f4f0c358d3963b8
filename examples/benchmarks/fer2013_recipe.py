"""ferkit's CPU-budget FER2013 recipe: select on validation carved from Training, score PublicTest once.

    python examples/benchmarks/fer2013_recipe.py --data path/to/fer2013
    python examples/benchmarks/fer2013_recipe.py --data path/to/fer2013 --ferplus
    python examples/benchmarks/fer2013_recipe.py --smoke          # tiny synthetic run (tests)

Trains ``configs/fer2013_recipe.yaml`` (model ``fer_recipe``) with ferkit's own engine on
90 % of Training; the other 10 % (``split.val_fraction``, duplicate groups on one side) is
the validation split, which chooses the checkpoint and the test-time augmentation (TTA).
PublicTest is the test split: it steers no choice. Prints the splits used, the epochs
planned to fit the budget on this machine (``train.time_budget_minutes``: a short probe
times the training step first), the training wall time against the 30-minute budget, and:

* each TTA candidate scored on val: none, flip, flip + 2-pixel shifts (10 views) and the
  recipe's own TTA (those 10 views plus the face's centre enlarged 1.08 and 1.16 times, and
  their mirror images: 14 views); the best on val is picked (a tie goes to fewer views);
* PublicTest accuracy / macro-F1 for the picked TTA, all images and without the images
  that have a duplicate in Training (``dedup_*``), on which the target is judged;
* PublicTest for every candidate, labelled "for information": none of them is chosen there.

``--ferplus`` trains and scores the same recipe on FER+ majority-vote labels instead (the
``ferplus`` source, eight classes, validation carved from FER+'s Training rows the same way).

The trained model is saved in the run directory (``--out``), so it can be scored again
elsewhere: ``ferkit evaluate RUN_DIR --data ...``. ``results.json`` and ``results.md`` in the
run directory hold every printed figure.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ferkit.config import Config, load_config
from ferkit.evaluation.evaluate import evaluate_model, tta_views
from ferkit.evaluation.selection import tta_label
from ferkit.workflows.experiment import prepare_data, train_on_samples

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "configs" / "fer2013_recipe.yaml"
BUDGET_MINUTES = 30.0
SHIFT_TTA = {"flip_tta": True, "shift_tta": 2}
# the two enlarged views were found on PublicTest before validation was carved from Training
# (docs/results/fer2013_recipe.md); here the TTA is only chosen among the candidates, on val
RECIPE_TTA = {**SHIFT_TTA, "zoom_tta": (1.08, 1.16)}
#: The TTA candidates, fewest views first, by the suffix of their figures in results.json
#: (``accuracy``, ``accuracy_flip_tta``, ...) and of their evaluation folder.
CANDIDATES: dict[str, dict] = {"": {}, "_flip_tta": {"flip_tta": True},
                               "_shift_tta": SHIFT_TTA, "_recipe_tta": RECIPE_TTA}
SELECTED_ON = "val"
TARGET_ACCURACY = {"fer2013": 0.68, "ferplus": None}
SMOKE = ["data.synthetic.images=420", "train.epochs=1", "train.warmup_epochs=0.5",
         "train.batch_size=32",
         "model.args.widths=[8, 16]", "model.args.depths=[1, 1]", "train.verbose=0"]


def recipe_config(path: Path, data: str | None, ferplus: bool, overrides: list[str]) -> Config:
    """The recipe's config with the data path set; ``ferplus`` swaps in FER+ majority labels."""
    extra = ["data.source=ferplus", "data.ferplus_mode=majority", "data.ferplus_mix=0.0",
             "data.ferplus_aux=false", "name=ferplus_recipe"] if ferplus else []
    config = load_config(path, extra + overrides)
    if data is not None:
        config.data.path = data
    return config


def split_sizes(samples) -> dict[str, int]:
    counts = samples.frame["split"].value_counts()
    return {name: int(counts.get(name, 0)) for name in ("train", "val", "test")}


def run(config: Config, run_dir: Path) -> dict:
    """Load, train, pick the TTA on val and score; every figure of the printed report."""
    start = time.perf_counter()
    samples = prepare_data(config, run_dir)
    loaded = time.perf_counter()
    result = train_on_samples(config, samples, run_dir)
    trained = time.perf_counter()
    scored_on = result.evaluated_on
    on_val = {suffix: evaluate_model(result.model, samples.split(SELECTED_ON), **tta).summary
              for suffix, tta in CANDIDATES.items()}
    on_test = {suffix: (result.evaluation.summary if not tta else evaluate_model(
        result.model, samples.split(scored_on), run_dir / f"evaluation{suffix}", **tta).summary)
        for suffix, tta in CANDIDATES.items()}
    picked = pick_on_validation(on_val)
    run_info = json.loads((run_dir / "run.json").read_text())
    return {
        "config": config.name, "model": config.model.name, "dataset": config.data.source,
        "data": str(config.data.path), "parameters": int(result.model.count_params()),
        "split_sizes": split_sizes(samples), "scored_on": scored_on,
        "selected_on": SELECTED_ON,
        "epochs_run": len(result.history.get("loss", [])),
        "epochs_planned": int(run_info["epochs_planned"]),
        "validated_epochs": sorted(int(e) for e in run_info.get("validated_epochs") or {}),
        "time_budget_minutes": config.train.time_budget_minutes,
        "load_seconds": round(loaded - start, 1),
        "training_seconds": round(trained - loaded, 1),
        **candidate_figures(on_val, on_test),
        "recipe_tta": tta_label(**RECIPE_TTA),
        "picked_tta": candidate_label(picked), "picked_views": view_count(CANDIDATES[picked]),
        **picked_figures(on_test[picked]),
        "measured": time.strftime("%Y-%m-%d %H:%M"),
    }


def pick_on_validation(on_val: dict[str, dict]) -> str:
    """The candidate with the best val accuracy; a tie goes to the one with fewer views."""
    return max(CANDIDATES, key=lambda suffix: (on_val[suffix]["emotion_accuracy"],
                                               -view_count(CANDIDATES[suffix])))


def candidate_figures(on_val: dict[str, dict], on_test: dict[str, dict]) -> dict:
    """``accuracy<suffix>`` / ``macro_f1<suffix>`` on the scored split, ``val_`` ones on val,
    and ``dedup_`` ones where the scoring reported de-duplicated figures."""
    figures = {}
    for suffix in CANDIDATES:
        test, val = on_test[suffix], on_val[suffix]
        figures[f"accuracy{suffix}"] = test["emotion_accuracy"]
        figures[f"macro_f1{suffix}"] = test["emotion_macro_f1"]
        figures[f"val_accuracy{suffix}"] = val["emotion_accuracy"]
        figures[f"val_macro_f1{suffix}"] = val["emotion_macro_f1"]
        if "dedup_emotion_accuracy" in test:
            figures[f"dedup_accuracy{suffix}"] = test["dedup_emotion_accuracy"]
            figures[f"dedup_macro_f1{suffix}"] = test["dedup_emotion_macro_f1"]
    return figures


def picked_figures(test: dict) -> dict:
    """The scored split's figures for the TTA picked on val, de-duplicated ones included."""
    figures = {"accuracy_picked": test["emotion_accuracy"],
               "macro_f1_picked": test["emotion_macro_f1"]}
    if "dedup_emotion_accuracy" in test:
        figures.update(dedup_accuracy_picked=test["dedup_emotion_accuracy"],
                       dedup_macro_f1_picked=test["dedup_emotion_macro_f1"],
                       dedup_rows=int(test["dedup_rows"]), duplicate_rows=int(test["duplicate_rows"]))
    return figures


def candidate_label(suffix: str) -> str:
    """A candidate in words: ``"no TTA"``, ``"flip TTA"``, ..."""
    return tta_label(**{"flip_tta": False, **CANDIDATES[suffix]}) or "no TTA"


def view_count(tta: dict) -> int:
    """How many views of each image a TTA setting averages."""
    return len(tta_views(tta.get("flip_tta", False), tta.get("shift_tta", 0),
                         tta.get("zoom_tta", ())))


def _validated(results: dict) -> str:
    epochs = results.get("validated_epochs")
    if not epochs:
        return "every epoch"
    return f"epoch{'s' if len(epochs) > 1 else ''} " + ", ".join(map(str, epochs))


def _split_row(results: dict) -> tuple[str, str]:
    sizes, scored = results["split_sizes"], results["scored_on"]
    if scored == SELECTED_ON:
        return ("split", f"train {sizes['train']:,} / select and score ({scored}, the same "
                         f"split: no test split) {sizes[scored]:,} images")
    return ("split", f"train {sizes['train']:,} / select on {SELECTED_ON} "
                     f"{sizes[SELECTED_ON]:,} / score once on {scored} {sizes[scored]:,} images")


def _picked_rows(results: dict) -> list[tuple[str, str]]:
    scored, picked = results["scored_on"], f"{results['picked_tta']} (picked on {SELECTED_ON})"
    views = results["picked_views"]
    rows = [(f"TTA picked on {SELECTED_ON}",
             f"{results['picked_tta']}, {views} view{'s' if views != 1 else ''}"),
            (f"{scored} accuracy, {picked}", f"{results['accuracy_picked']:.4f}"),
            (f"{scored} macro-F1, {picked}", f"{results['macro_f1_picked']:.4f}")]
    if "dedup_accuracy_picked" in results:
        kept = (f"the {results['dedup_rows']:,} images without a duplicate in train or "
                f"{SELECTED_ON} ({results['duplicate_rows']:,} left out)")
        rows += [(f"{scored} accuracy on {kept}, {picked}", f"{results['dedup_accuracy_picked']:.4f}"),
                 (f"{scored} macro-F1 on {kept}, {picked}", f"{results['dedup_macro_f1_picked']:.4f}")]
    return rows


def _candidate_rows(results: dict) -> list[tuple[str, str]]:
    """Every candidate's val figures, then its scored-split ones labelled as information."""
    scored, rows = results["scored_on"], []
    for suffix in CANDIDATES:
        label = candidate_label(suffix)
        views = view_count(CANDIDATES[suffix])
        named = (f"recipe TTA ({label}, {views} views)" if suffix == "_recipe_tta"
                 else label + (f" ({views} views)" if views > 1 else ""))
        rows.append((f"{SELECTED_ON} accuracy / macro-F1, {named}",
                     f"{results['val_accuracy' + suffix]:.4f} / {results['val_macro_f1' + suffix]:.4f}"))
        info = " (for information, not used to choose)"
        rows.append((f"{scored} accuracy, {named}{info}", f"{results['accuracy' + suffix]:.4f}"))
        rows.append((f"{scored} macro-F1, {named}{info}", f"{results['macro_f1' + suffix]:.4f}"))
    return rows


def report(results: dict, target: float | None) -> str:
    """The printed Markdown table, with the budget and target verdicts."""
    minutes = results["training_seconds"] / 60
    rows = [
        ("model", f"{results['model']} ({results['parameters']:,} parameters)"),
        _split_row(results),
        ("epochs", f"{results['epochs_run']} of {results['epochs_planned']} planned" + (
            f" (the most that fit {results['time_budget_minutes']:g} minutes on this machine, "
            "at most train.epochs)" if results["time_budget_minutes"] else "")),
        ("data loading", f"{results['load_seconds']:.0f} s"),
        (f"training (+ validation in {_validated(results)})",
         f"{minutes:.1f} min ({'within' if minutes <= BUDGET_MINUTES else 'OVER'} the "
         f"{BUDGET_MINUTES:.0f}-minute budget)"),
        *_picked_rows(results),
        *_candidate_rows(results),
    ]
    if target is not None:
        score = results["accuracy_picked"]
        rows.append((f"target ({results['scored_on']} accuracy, TTA picked on {SELECTED_ON})",
                     f">= {target:.2f}: {'met' if score >= target else 'NOT met'}"))
    lines = ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder with fer2013.csv(.gz) (and fer2013new.csv); "
                                       "default: a synthetic stand-in")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--out", help="run directory (default runs/<config name>)")
    parser.add_argument("--ferplus", action="store_true",
                        help="train and score on FER+ majority-vote labels")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. --set train.epochs=5 (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic run for the tests")
    args = parser.parse_args(argv)
    overrides = (SMOKE if args.smoke else []) + args.set
    config = recipe_config(Path(args.config), None if args.smoke else args.data, args.ferplus,
                           overrides)
    run_dir = Path(args.out or ROOT / "runs" / config.name)
    results = run(config, run_dir)
    table = report(results, None if args.smoke else TARGET_ACCURACY[config.data.source])
    (run_dir / "results.json").write_text(json.dumps(results, indent=1))
    (run_dir / "results.md").write_text(table + "\n")
    print(table)
    print(f"run directory (model, config, tables): {run_dir}")
    return results


if __name__ == "__main__":
    main()
