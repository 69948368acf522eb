"""The classify task (designs/iris_8x8.yaml): features scaled onto the input range, one class
against the rest, a stratified held-out part, accuracy on both parts, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import DESIGNS

from twinedge.reports.metrics import accuracy
from twinedge.spec import load_spec
from twinedge.spec.errors import SpecError
from twinedge.spec.loader import load_spec_text


def test_iris_one_against_the_rest_with_a_stratified_held_out_third() -> None:
    spec = load_spec(DESIGNS / "iris_8x8.yaml")
    ds = spec.dataset
    assert ds.inputs.shape == (102, 4) and ds.test_inputs.shape == (48, 4)
    both = np.r_[ds.inputs, ds.test_inputs]
    assert np.allclose(both.min(axis=0), 0.0) and np.allclose(both.max(axis=0), 0.45)
    # versicolor (50 of 150) against the rest: 34 trained, 16 held out
    assert np.count_nonzero(ds.labels == -0.087) == 34 and set(ds.labels) == {0.0, -0.087}
    assert np.count_nonzero(ds.test_labels == -0.087) == 16


def test_accuracy_counts_the_side_of_half_l0() -> None:
    out = np.array([-0.09, -0.05, -0.04, 0.01])
    labels = np.array([-0.087, -0.087, 0.0, 0.0])
    assert accuracy(out, labels, -0.087) == 1.0
    assert accuracy(out, labels[::-1], -0.087) == 0.0


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"features": ["sepal_length"]}, "task.features", "unknown field"),
        ({"positive": 7}, "task.positive", "not a class of the target column"),
        ({"target": "colour"}, "task.path", "CSV lacks columns ['colour']"),
        ({"test_fraction": 0.95}, "task.test_fraction", "less than or equal to 0.9"),
    ],
)
def test_a_bad_classify_task_is_a_one_line_error(tmp_path, change, field, words) -> None:
    """Each input reads the column of its name: an input the CSV lacks is an error too."""
    raw = yaml.safe_load((DESIGNS / "iris_8x8.yaml").read_text())
    raw["task"].update(change)
    with pytest.raises(SpecError) as exc:
        load_spec_text(yaml.safe_dump(raw), str(tmp_path / "iris.yaml"), DESIGNS)
    text = str(exc.value)
    assert exc.value.path == field and words in text and "\n" not in text, text


def test_an_input_the_csv_lacks_is_named(tmp_path) -> None:
    raw = yaml.safe_load((DESIGNS / "iris_8x8.yaml").read_text())
    raw["pins"]["inputs"]["petal_area"] = raw["pins"]["inputs"].pop("petal_width")
    with pytest.raises(SpecError) as exc:
        load_spec_text(yaml.safe_dump(raw), str(tmp_path / "iris.yaml"), DESIGNS)
    assert exc.value.path == "task.path" and "CSV lacks columns ['petal_area']" in str(exc.value)


def test_energy_of_a_large_dataset_is_a_seeded_sample_of_its_transitions() -> None:
    from twinedge.learn.energy import cycle

    assert cycle(4, 16, seed=0) == [0, 1, 2, 3, 0]  # a small dataset: every point, in order
    big = cycle(103, 16, seed=3)
    assert len(big) == 17 and big[-1] == big[0] and len(set(big[:-1])) == 16
    assert all(0 <= k < 103 for k in big)
    assert big == cycle(103, 16, seed=3) and big != cycle(103, 16, seed=4)
