"""The same spec on two PDKs, side by side: the README's SKY130-vs-GF180MCU table, read from
the two flows' ``report.json`` and ``manifest.json`` (every figure from those runs).

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
            f"{r['drc']['violations']} ({', '.join(d['kind'] for d in r['verified']['drc'])})"
        ),
        "LVS": lambda r, m: "match" if r["lvs"]["match"] else "mismatch",
        "twin-edge cell (um^2)": lambda r, m: f"{r['area']['cell_um2']:.1f}",
        "array (um^2)": lambda r, m: f"{r['area']['array_um2']:.0f}",
        "edges/mm^2": lambda r, m: f"{r['area']['edges_per_mm2']:,.0f}",
        "energy per inference": lambda r, m: f"{r['energy']['inference_j'] * 1e12:.3g} pJ",
        "worst settling": lambda r, m: f"{r['energy']['settling_s'] * 1e9:.3g} ns",
        "static power": lambda r, m: f"{r['energy']['static_w'] * 1e6:.3g} uW",
        "energy per learning step": lambda r, m: f"{r['energy']['learning_step_j'] * 1e9:.3g} nJ",
        "XOR margin, schematic / post-layout (\\|L0\\|)": lambda r, m: (
            f"{r['training']['schematic_metrics']['xor']['min_margin_frac_of_l0']:+.2f} / "
            f"{r['training']['post_layout_metrics']['xor']['min_margin_frac_of_l0']:+.2f}"
        ),
        "flow wall time (stages run)": lambda r, m: (
            f"{sum(s['wall_s'] for s in m['stages'] if s.get('ran')):.0f} s"
        ),
    }
    for name, get in rows.items():
        print(_row(name, [get(r, m) for r, m in pairs]))


if __name__ == "__main__":
    main()
