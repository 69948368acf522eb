"""The learning cell's density against what its sizing buys (issue 16's trade table).

For each sizing of the on-chip learning cell - the gate capacitor C_G, the memory's hold
capacitor count, t_h scaled with C_G so that a step moves G as much (the update is a
current into C_G), and the width of C_G's fingers (``cell.cap_finger_w_um``: the edge
strip's width) - this lays out the whole array with the present layout generator (its
bounding box: edges per mm^2) and characterises the memory circuit with the PDK's models
(cached): offset and gain spread (Monte Carlo), the zero-input pull, and the droop of a
frozen G (its retention: seconds until it drifts 10 mV). ``--train``: XOR trained with each
sizing's rule (seeds 0-3, the schematic rule with mismatch).

    .venv/bin/python benchmarks/bench_density.py designs/xor_4x4_cl.yaml [--train]
    .venv/bin/python benchmarks/bench_density.py designs/xor_4x4_cl_4x.yaml --as-given --train

The design's own C_G, t_h and finger width are replaced by each row's (its other fields
stay: take xor_4x4_cl.yaml, whose t_h goes with 4 pF).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from seeds import solved, with_seed, xor_margin

from twinedge.cells.array import area_report, compile_array
from twinedge.circuits.twin_edge import CAP_MAX_W_CL
from twinedge.learn.train import circuit_characterisation, trainer
from twinedge.spec import load_spec

# (C_G F, hold capacitors, t_h scale, C_G's finger width um): xor_4x4_cl's sizing first; a
# smaller C_G in narrower fingers fills the same strip length (xor_4x4_cl_dense: 2 pF, 6 um)
SIZINGS = (
    (4e-12, 3, 1.0, 12.0), (2e-12, 3, 0.5, 12.0), (2e-12, 3, 0.5, 6.0), (1e-12, 3, 0.25, 3.0),
    (4e-12, 2, 1.0, 12.0), (2e-12, 2, 0.5, 6.0), (1e-12, 2, 0.25, 3.0), (4e-12, 1, 1.0, 12.0),
)  # fmt: skip
RETENTION_V = 0.01


def sized(design, c_gate_f: float, hold_cap_n: int, t_scale: float, finger_w: float):
    cell = design.cell
    upd = cell.update.model_copy(update={"hold_cap_n": hold_cap_n})
    cell = cell.model_copy(
        update={"c_gate_f": c_gate_f, "update": upd, "cap_finger_w_um": finger_w}
    )
    tr = design.training
    tr = tr.model_copy(update={"t_h": tr.t_h * t_scale, "t_frozen": tr.t_frozen * t_scale})
    return design.model_copy(update={"cell": cell, "training": tr})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", type=Path)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--only", type=int, nargs="+", help="rows of SIZINGS to run (0-based)")
    ap.add_argument("--as-given", action="store_true", help="one row: the spec's own sizing")
    args = ap.parse_args()
    spec = load_spec(args.spec)
    head = ("C_G", "finger", "hold", "t_h", "edges/mm2", "offset sd V2", "gain sd", "pull V2/V",
            "droop V/s", "retention s", "XOR")  # fmt: skip
    print(" | ".join(head))
    rows = [SIZINGS[k] for k in args.only] if args.only else SIZINGS
    designs = [sized(spec.design, *row) for row in rows]
    if args.as_given:
        designs = [spec.design]
    for d in designs:
        c_g, hold = d.cell.c_gate_f, d.cell.update.hold_cap_n
        finger = d.cell.cap_finger_w_um or CAP_MAX_W_CL
        t0 = time.perf_counter()
        area = area_report(d, compile_array(d))
        m = circuit_characterisation(d)
        droop = float(np.abs(np.interp(1.0, m.frozen_g, np.asarray(m.frozen_i_a))) / m.c_gate_f)
        xor = "-"
        if args.train:
            margins = []
            for seed in args.seeds:
                run = with_seed(spec, d, seed)
                margins.append(xor_margin(run, trainer(run, m).run(None)))
            xor = f"{solved(margins)}/{len(margins)}"
        row = (f"{c_g * 1e12:g} pF", f"{finger:g} um", str(hold), f"{d.training.t_h * 1e6:g} us",
               f"{area.edges_per_mm2:.0f}", f"{m.offset_sigma_v2:.2e}",
               f"{100 * m.gain_sigma_rel:.1f} %", f"{m.pull_v2_per_v:.2e}", f"{droop:.3g}",
               f"{RETENTION_V / droop:.3g}" if droop else "inf", xor)  # fmt: skip
        print(" | ".join(row), f"({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
