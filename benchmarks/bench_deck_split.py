"""One ngspice deck of N learning steps against N/CHUNK decks side by side: the reason the
characterisation runs its nominal steps in decks of ``CHUNK`` and the post-layout cell one
step per deck (ngspice's time grows faster than a deck's instances).

Runs the time-differenced circuit's zero-input and signal steps at 16 G values (32 steps,
schematic, SKY130 ``tt``) once as one deck and once split, on the machine's cores, and
prints both wall times, their ratio, and the largest dG difference between the two.

    .venv/bin/python benchmarks/bench_deck_split.py [--chunk 8]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from twinedge import processes
from twinedge.characterise.memory import CHUNK, G_REF, SIGNAL, StepRun, step_dg
from twinedge.circuits.memory import MemoryBias, MemorySizing
from twinedge.pdk import get as get_pdk


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunk", type=int, default=CHUNK)
    args = ap.parse_args()
    pdk = get_pdk("sky130")
    g = np.round(np.arange(0.3, 1.81, 0.1), 6)
    runs = [StepRun(0.0, 0.0, float(v)) for v in g] + [StepRun(*SIGNAL, float(v)) for v in g]
    sizing, bias = MemorySizing(hold_cap_n=3), MemoryBias()

    def deck(steps: list[StepRun]) -> np.ndarray:
        return step_dg(steps, pdk, "tt", sizing, bias, 4e-12, 2000.0)[0]

    t0 = time.perf_counter()
    whole = deck(runs)
    t_whole = time.perf_counter() - t0
    # each split deck led by the zero step at G_REF, re-referenced as the characterisation does
    ref = StepRun(0.0, 0.0, G_REF)
    pieces = [runs[i : i + args.chunk] for i in range(0, len(runs), args.chunk)]
    t0 = time.perf_counter()
    done = processes.parallel(lambda p: deck([ref, *p]), pieces, os.cpu_count() or 1)
    t_split = time.perf_counter() - t0
    zero = float(deck([ref])[0])
    split = np.concatenate([d[1:] - d[0] + zero for d in done])
    print(f"{len(runs)} steps, {os.cpu_count()} cores")
    print(f"one deck:              {t_whole:6.1f} s")
    print(f"{len(pieces)} decks of {args.chunk} (+ref): {t_split:6.1f} s")
    print(f"ratio one / split:     {t_whole / t_split:6.2f}x")
    print(f"largest |dG| difference: {np.max(np.abs(split - whole)):.2e} V")


if __name__ == "__main__":
    main()
