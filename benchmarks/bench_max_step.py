"""The memory circuit's step deck at the old largest time step (0.5 ns), a finer one (0.2 ns)
and the flow's (:data:`twinedge.characterise.memory.MAX_STEP_NS`), side by side in one run:
wall time, time points, and the largest dG difference from the 0.5 ns run.

Eight instances (zero input at G 0.75 / 1.0 / 1.25 V, five signals), the 4 pF design's
circuit, tt, ``--t-h`` ns of LEARN. If 0.2 ns and the cap differ from 0.5 ns by the same
~1e-6 V, that is the solver's floor, not the cap.

    .venv/bin/python benchmarks/bench_max_step.py [--t-h 6000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from twinedge.characterise.memory import MAX_STEP_NS, StepRun, step_deck
from twinedge.characterise.mirror import numeric_rows
from twinedge.circuits.memory import MemoryBias, MemorySizing
from twinedge.pdk import get as get_pdk
from twinedge.spice.deck import run_deck

RUNS = [StepRun(0.0, 0.0, g) for g in (0.75, 1.0, 1.25)] + [
    StepRun(0.3, 0.1, 1.0), StepRun(0.45, 0.0, 1.0), StepRun(0.0, 0.45, 0.8),
    StepRun(0.2, 0.25, 1.2), StepRun(0.1, 0.1, 0.6),
]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--t-h", type=float, default=6000.0, help="LEARN (ns)")
    args = ap.parse_args()
    pdk = get_pdk("sky130")
    deck = step_deck(RUNS, pdk, "tt", MemorySizing(), MemoryBias(), 4e-12, args.t_h)
    flow_cap = f"{MAX_STEP_NS!r}n"
    assert f" 0 {flow_cap}\n" in deck
    out = {}
    for cap in ("0.5n", "0.2n", flow_cap):
        t0 = time.perf_counter()
        rows = numeric_rows(run_deck(deck.replace(f" 0 {flow_cap}\n", f" 0 {cap}\n")))
        wall = time.perf_counter() - t0
        out[cap] = (rows[-1, 1 : 2 * len(RUNS) : 2], wall)
        diff = np.abs(out[cap][0] - out["0.5n"][0]).max()
        print(f"max step {cap:>5}: {wall:5.1f} s, {len(rows)} points, "
              f"max |dG - dG(0.5 ns)| {diff:.2e} V", flush=True)  # fmt: skip
    g0 = np.array([r.g0 for r in RUNS])
    dg = out["0.5n"][0] - g0
    print(f"dG of the runs: {np.abs(dg).min():.2e} .. {np.abs(dg).max():.2e} V; "
          f"{out['0.5n'][1] / out[flow_cap][1]:.1f}x faster at {flow_cap}")  # fmt: skip


if __name__ == "__main__":
    main()
