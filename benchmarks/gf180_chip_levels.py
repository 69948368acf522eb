"""The learning chip on GF180MCU holding its own supply and rails in motion: the chip design's
netlist (its own ladder, rail buffers, regulator and read-out, sized as the flow sizes them)
driven through its pins alone, in inference (every datapoint twice, G held at levels drawn
from ``--g-span``) and in a short learning run (the reset through the pins, ``--steps``
steps of 1 us LEARN and 1.5 us CAL, each read on DOUT, then the read-out's two reference
conversions). For each of its own levels (VDD, the rails, VRESET) it prints the peak
distance from the target and its longest disturbance beyond 20 mV (until back within it for
good; the flow's verdict allows 200 ns: ``characterise/chip_board.LEVEL_RECOVERY_S``).

``--undecoupled``: the same chip without the regulator's output capacitor and reference
low-pass and without the ladder's tap capacitors, as it was before 2026-12-03's fix (its
VDD rang after every datapoint change).

    .venv/bin/python benchmarks/gf180_chip_levels.py designs/xor_chip_gf180.yaml
    .venv/bin/python benchmarks/gf180_chip_levels.py designs/xor_chip_gf180.yaml --undecoupled
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

import twinedge.pdk
from twinedge.characterise import chip
from twinedge.characterise import chip_board as board
from twinedge.characterise.bias import BiasTargets, size_strings
from twinedge.characterise.mirror import numeric_rows, run_transient
from twinedge.characterise.on_chip import size_on_chip
from twinedge.circuits.regulator import RegulatorSizing
from twinedge.spec.loader import load_spec

# the GF180MCU design's characterised memory biases and floor (2026-12-03), the element's VBE
BIASES = BiasTargets(vbp=0.7, vcn=1.0, vcp=0.5, vfloor=0.9897, vbe=0.85, vcalb=1.8)
T_DISCHARGE = 0.5e-6  # the learning run starts every G below the memory's diode level


def undecoupled(oc):
    """``oc`` without the regulator's CO, RF and CF and the ladder's tap capacitors."""
    reg = RegulatorSizing(*oc.regulator)
    bare = dataclasses.replace(reg, cap_n=0, filter_strips=0, filter_cap_n=0)
    return dataclasses.replace(oc, regulator=dataclasses.astuple(bare), ladder_cap=(0.0, 0.0))


def table(what: str, t, col, levels: dict[str, float], t0: float) -> None:
    worst, beyond = board.level_excursions(t, col, levels, t0, t[-1])
    print(f"\n{what}:\n\n| level | target | peak distance | longest disturbance beyond 20 mV |")
    print("|---|---|---|---|")
    for n, v in levels.items():
        note = " (reset only)" if n in board.RESET_ONLY_LEVELS else ""
        print(f"| {n}{note} | {v:.4f} V | {worst[n] * 1e3:.1f} mV | {beyond[n] * 1e9:.0f} ns |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--undecoupled", action="store_true")
    ap.add_argument("--g-span", type=float, nargs=2, default=(1.0, 1.6))
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    t0 = time.time()
    spec = load_spec(a.spec)
    d = spec.design
    pdk = twinedge.pdk.activate(d.pdk)
    pp = chip.plan(d, spec.dataset.inputs, spec.dataset.labels, str(a.spec))
    reset = chip.plan_reset(spec, BIASES, t_discharge=T_DISCHARGE)
    oc = size_on_chip(spec, pp, vreset=reset.vreset)
    if a.undecoupled:
        oc = undecoupled(oc)
    w = chip.wiring(spec, pp, size_strings(pdk, BIASES), oc)
    levels = board.own_levels(pdk, w, pp)
    rng = np.random.default_rng(a.seed)
    g = rng.uniform(*a.g_span, len(w.edges))
    text, _ = chip.inference_deck(spec, w, pp, g)
    names = chip.inference_probes(pdk, w, pp)
    t, col = chip._columns(numeric_rows(run_transient(text)), names)
    n = len(spec.dataset.labels)
    table(f"inference ({2 * n} datapoints, {chip.T_INFERENCE * 1e6:g} us each)", t, col, levels,
          chip.T_INFERENCE)  # fmt: skip
    short = d.training.model_copy(update={"t_h": 1e-6, "t_frozen": 1.5e-6})
    spec = dataclasses.replace(spec, design=d.model_copy(update={"training": short}))
    start = chip.start_levels(len(w.edges), (0.0, 0.6), a.seed)
    run = chip.Reset(reset.vreset, T_DISCHARGE, reset.t_charge, start)
    order = [k % n for k in range(a.steps)]
    text, _ = chip.deck(spec, w, pp, order, run)
    names = chip.training_probes(pdk, w, pp, False)
    t, col = chip._columns(numeric_rows(run_transient(text)), names)
    table(f"learning ({a.steps} steps after the reset, then the reference conversions)", t, col,
          levels, run.end)  # fmt: skip
    kind = "without the decoupling" if a.undecoupled else "as the flow builds it"
    print(f"\n{d.name} on {pdk.name}, {kind} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
