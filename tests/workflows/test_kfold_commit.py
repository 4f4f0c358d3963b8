"""k-fold resume decides "finished" by the commit marker (run.json) alone, with a fake trainer."""
import types

import numpy as np
import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.data.samples import Samples
from ferkit.errors import RunDirectoryError
from ferkit.evaluation.kfold import FOLD_METRICS
from ferkit.runs import RunDir
from ferkit.workflows import kfold as kfold_workflow

K = 3


def _samples() -> Samples:
    labels = np.repeat([0, 1], 6)
    frame = pd.DataFrame({"label": labels})
    return Samples(frame, ("a", "b"), images=np.zeros((12, 4, 4, 1), "uint8"), source="toy")


@pytest.fixture
def fake_training(monkeypatch):
    """Replace the fold's training by a writer of a complete fold; return the folders trained."""
    trained = []

    def train_on_samples(config, samples, run_dir):
        run = RunDir(run_dir).begin()
        summary = {f"emotion_{metric}": 0.5 for metric in FOLD_METRICS}
        test = samples.split("test").frame.assign(predicted=0)
        run.path.joinpath(RunDir.METRICS).write_text(pd.Series(summary).to_json())
        test.to_csv(run / RunDir.PREDICTIONS, index=False)
        run.commit({"evaluated_on": "test"})
        trained.append(run.path.name)
        evaluation = types.SimpleNamespace(summary=summary, predictions=test)
        return types.SimpleNamespace(evaluation=evaluation)

    monkeypatch.setattr(kfold_workflow, "train_on_samples", train_on_samples)
    return trained


def _cross_validate(run_dir):
    return kfold_workflow.cross_validate(config_from_dict({}), run_dir, k=K, samples=_samples(),
                                         verbose=False)


def test_a_fold_with_every_file_but_run_json_is_trained_again(tmp_path, fake_training):
    _cross_validate(tmp_path)
    assert fake_training == ["fold_01", "fold_02", "fold_03"]
    (tmp_path / "fold_02" / RunDir.RUN).unlink()  # killed after the results, before the commit
    assert (tmp_path / "fold_02" / RunDir.METRICS).is_file()
    assert (tmp_path / "fold_02" / RunDir.PREDICTIONS).is_file()
    again = _cross_validate(tmp_path)
    assert again.trained == [2] and fake_training[3:] == ["fold_02"]


def test_committed_folds_are_read_back_not_trained(tmp_path, fake_training):
    first = _cross_validate(tmp_path)
    again = _cross_validate(tmp_path)
    assert again.trained == [] and len(fake_training) == K
    pd.testing.assert_frame_equal(again.per_fold, first.per_fold)


def test_a_committed_fold_missing_its_metrics_is_named(tmp_path, fake_training):
    _cross_validate(tmp_path)
    (tmp_path / "fold_01" / RunDir.METRICS).unlink()
    with pytest.raises(RunDirectoryError, match="fold_01.*metrics.json"):
        _cross_validate(tmp_path)

