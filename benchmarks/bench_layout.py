"""Layout + DRC (+ LVS) time against array size, in one run, so the growth is visible.

    .venv/bin/python benchmarks/bench_layout.py [--sizes 4 16 64] [--no-lvs]

Each size is the XOR design's cell on an N x N periodic lattice; times are wall seconds on
this machine for: compiling and writing the GDS (with its PNG render), the full SKY130
KLayout DRC decks (each deck's time too), and LVS (extraction + comparison). Ratios are
against the smallest size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from twinedge.spec import load_spec_text
from twinedge.stages.layout import run_layout
from twinedge.verify.drc import run_drc
from twinedge.verify.lvs import run_lvs

DESIGNS = Path(__file__).resolve().parent.parent / "designs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--no-lvs", action="store_true")
    args = ap.parse_args()
    raw = yaml.safe_load((DESIGNS / "xor_4x4.yaml").read_text())
    print(
        f"{'array':>8}{'edges':>8}{'layout s':>10}{'DRC s':>9}{'LVS s':>9}"
        f"{'violations':>12}{'LVS':>7}{'area mm^2':>11}{'DRC x':>8}  DRC s per deck"
    )
    base = None
    with tempfile.TemporaryDirectory(prefix="twinedge-bench-") as tmp:
        for n in args.sizes:
            raw["network"].update(rows=n, cols=n)
            raw["name"] = f"bench_{n}x{n}"
            design = load_spec_text(yaml.safe_dump(raw), "bench.yaml", DESIGNS).design
            out = Path(tmp) / design.name
            t0 = time.perf_counter()
            lay = run_layout(design, out / "layout")
            t_layout = time.perf_counter() - t0
            drc = run_drc(lay.gds, out / "drc")
            t_lvs, verdict = float("nan"), "-"
            if not args.no_lvs:
                t0 = time.perf_counter()
                verdict = "match" if run_lvs(design, lay.gds, out / "lvs").match else "FAIL"
                t_lvs = time.perf_counter() - t0
            base = base or drc.seconds
            print(
                f"{n:>5}x{n:<2}{lay.area.edges:>8}{t_layout:>10.2f}{drc.seconds:>9.2f}"
                f"{t_lvs:>9.2f}{drc.violations:>12}{verdict:>7}"
                f"{lay.area.array_um2 * 1e-6:>11.4f}{drc.seconds / base:>8.1f}  "
                + ", ".join(f"{d.name.split(' ')[0]} {d.seconds:.1f}" for d in drc.decks),
                flush=True,
            )


if __name__ == "__main__":
    main()
