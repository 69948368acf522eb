"""Sweep axes (``twinedge.spec.sweep``): how ``--vary`` reads, the grid, random pin
placements, and one-line errors for bad axes and bad points."""

from __future__ import annotations

import pytest
import yaml
from conftest import DESIGNS

from twinedge.spec import load_spec
from twinedge.spec.errors import SpecError
from twinedge.spec.sweep import grid, parse_vary, point_spec, random_pins

RAW = yaml.safe_load((DESIGNS / "xor_4x4_paper.yaml").read_text())


def test_ranges_lists_and_placements() -> None:
    assert parse_vary("training.seed=0:4", RAW, "f").values == (0, 1, 2, 3)
    assert parse_vary("training.eta=0.2, 0.5,1", RAW, "f").values == (0.2, 0.5, 1)
    assert parse_vary("cell.model.kind=level1,pdk", RAW, "f").values == ("level1", "pdk")
    pins = parse_vary("pins=random:3", RAW, "f")
    assert pins.values == (0, 1, 2) and pins.label(2) == "random:2"
    points = grid([parse_vary("training.seed=0:2", RAW, "f"), pins], "f")
    assert len(points) == 6 and points[1] == {"training.seed": 0, "pins": 1}


def test_a_placement_puts_every_pin_on_its_own_node_reproducibly() -> None:
    a, b = random_pins(RAW, 7), random_pins(RAW, 7)
    assert a == b and a != random_pins(RAW, 8)
    nodes = [tuple(v) for v in a["inputs"].values()]
    nodes += [tuple(c["node"]) for c in a["constants"].values()]
    nodes += [tuple(v) for v in a["output"].values()]
    assert len(nodes) == len(set(nodes)) == 6
    assert all(0 <= r < 4 and 0 <= c < 4 for r, c in nodes)
    assert a["constants"]["Vplus"]["volts"] == 0.33  # the levels stay the spec's
    spec = point_spec(RAW, {"pins": 7, "training.seed": 3})
    assert spec["pins"] == a and spec["training"]["seed"] == 3 and RAW["training"]["seed"] == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("training.seed", "not FIELD=VALUES"),
        ("training.seed=4:4", "an empty or huge range"),
        ("training.seed=a:b", "a range"),
        ("training.seed.x=1", "training.seed is not a mapping in the spec"),
        ("pins=grid:3", "placements"),
        ("training.eta=0.5,0.5", "repeated"),
    ],
)
def test_a_bad_axis_is_a_one_line_error(text: str, words: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_vary(text, RAW, "spec.yaml")
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_a_field_of_a_mapping_the_spec_lacks_is_made() -> None:
    spec = point_spec(RAW, {"network.damage.removed": 0.1})
    assert spec["network"]["damage"] == {"removed": 0.1} and "damage" not in RAW["network"]


def test_a_point_the_loader_refuses_is_named(tmp_path) -> None:
    from twinedge.stages.sweep import plan_points

    spec = load_spec(DESIGNS / "xor_4x4_paper.yaml")
    with pytest.raises(SpecError) as exc:
        plan_points(spec, ["training.seed=0:2", "training.eta=0.5,2.0"])
    text = str(exc.value)
    assert "--vary point 1 (training.seed=0, training.eta=2.0): training.eta" in text, text
    assert "\n" not in text
    with pytest.raises(SpecError) as exc:
        plan_points(spec, ["network.damage.broken=0.1"])
    assert "--vary point 0 (network.damage.broken=0.1): network.damage.broken" in str(exc.value)
