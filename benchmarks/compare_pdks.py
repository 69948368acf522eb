"""The same spec on two PDKs, side by side: the README's SKY130-vs-GF180MCU tables (plain
arrays, learning cells), read from the two flows' ``report.json`` and ``manifest.json``
(every figure from those runs; n/a: the report has no such figure).

    .venv/bin/twinedge flow designs/xor_4x4.yaml
    .venv/bin/twinedge flow designs/xor_4x4_gf180.yaml
    .venv/bin/python benchmarks/compare_pdks.py build/xor_4x4 build/xor_4x4_gf180
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _row(name: str, values: list[str]) -> str:
    return "| " + " | ".join([name, *values]) + " |"


MARGIN = "xor.min_margin_frac_of_l0"
MARGINS = (  # (plain array's, learning cell's) report paths: schematic, post-layout
    (f"training.schematic_metrics.{MARGIN}", f"training.metrics.{MARGIN}"),
    (f"training.post_layout_metrics.{MARGIN}", f"post_layout_training.metrics.{MARGIN}"),
)


def _get(report: dict, *paths: str) -> float | None:
    """The first of ``paths`` (dotted) the report has: a plain array's report and a learning
    cell's name some figures differently; None where neither has it."""
    for path in paths:
        node = report
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            return node
    return None


def _static_w(report: dict) -> float | None:
    """A plain array's static power, or a learning array's between steps: its update circuits
    (each biased on, the characterised frozen power) over the edges."""
    frozen = _get(report, "circuit.power_frozen_w")
    if frozen is not None:
        return frozen * report["area"]["edges"]
    return _get(report, "energy.static_w")


def _fmt(value: float | None, scale: float, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value * scale:+.2f}" if not unit else f"{value * scale:.3g} {unit}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("builds", type=Path, nargs=2, help="two build/<design> folders")
    args = ap.parse_args()
    reports = [json.loads((b / "report.json").read_text()) for b in args.builds]
    manifests = [json.loads((b / "manifest.json").read_text()) for b in args.builds]
    pairs = list(zip(reports, manifests, strict=True))
    heads = [str(r["provenance"].get("pdk_version", m["pdk"])) for r, m in pairs]
    print(_row("", [m["pdk"] for m in manifests]))
    print("|---|---|---|")
    print(_row("models", heads))
    rows = {
        "DRC (violations, decks)": lambda r, m: (
            f"{_get(r, 'drc.violations', 'verification.drc.violations')} "
            f"({', '.join(d['kind'] for d in r['verified']['drc'])})"
        ),
        "LVS": lambda r, m: "match" if r["verified"]["lvs"]["match"] else "mismatch",
        "twin-edge cell (um^2)": lambda r, m: f"{r['area']['cell_um2']:.1f}",
        "array (um^2)": lambda r, m: f"{r['area']['array_um2']:.0f}",
        "edges/mm^2": lambda r, m: f"{r['area']['edges_per_mm2']:,.0f}",
        "energy per inference": lambda r, m: _fmt(
            _get(r, "energy.inference_j", "array_check.energy.inference_j"), 1e12, "pJ"
        ),
        "static power": lambda r, m: _fmt(_static_w(r), 1e6, "uW"),
        "energy per learning step": lambda r, m: _fmt(
            _get(r, "energy.learning_step_j", "energy.energy_per_step_j"), 1e9, "nJ"
        ),
        "XOR margin, schematic / post-layout (\\|L0\\|)": lambda r, m: " / ".join(
            _fmt(_get(r, *paths), 1, "") for paths in MARGINS
        ),
        "flow wall time (stages run)": lambda r, m: (
            f"{sum(s['wall_s'] for s in m['stages'] if s.get('ran')):.0f} s"
        ),
    }
    for name, get in rows.items():
        print(_row(name, [get(r, m) for r, m in pairs]))


if __name__ == "__main__":
    main()
