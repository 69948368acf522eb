"""Sized model bins against the PDK's full FET subcircuits, side by side in one run.

ngspice expands every ``.model`` bin of SKY130's FET subcircuit (48 each) for every
instance; :mod:`twinedge.pdk.model_bins` gives each size only its bins. This runs the same
deck both ways - the memory circuit's one-step deck (``characterise.memory.step_deck``,
``--runs`` instances of the circuit with their twins and gate capacitors) - and prints the
wall time of each, the ratio, and whether every G after the step is the same.

    .venv/bin/python benchmarks/bench_model_bins.py [--runs 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from twinedge.characterise.memory import StepRun, step_deck
from twinedge.characterise.mirror import numeric_rows
from twinedge.circuits.memory import MemoryBias, MemorySizing
from twinedge.pdk import get as get_pdk
from twinedge.spice.deck import run_deck


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    args = ap.parse_args()
    pdk = get_pdk("sky130")
    runs = [StepRun(0.1 * k / args.runs, 0.12 * k / args.runs, 1.0) for k in range(args.runs)]
    deck = step_deck(runs, pdk, "tt", MemorySizing(), MemoryBias(), 1e-12, 2000.0)
    out = {}
    for label, sized in (("full subcircuits", False), ("sized bins", True)):
        t0 = time.perf_counter()
        out[label] = (numeric_rows(run_deck(deck, sized_bins=sized)), time.perf_counter() - t0)
        print(f"{label}: {out[label][1]:.1f} s", flush=True)
    (full, t_full), (sized, t_sized) = out.values()
    same = full.shape == sized.shape and bool(np.array_equal(full, sized))
    print(f"ratio {t_full / t_sized:.1f}x; every printed value the same: {same}")


if __name__ == "__main__":
    main()
