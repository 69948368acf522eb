"""Which of the memory circuit's devices sets the 4x sizing's pull (docs/periphery.md)?

One ``characterise.memory.step_dg`` deck per sizing (schematic, tt, C_G 3 pF, t_h 6 us): the
zero-input residual at G 0.75..1.25 V against the gain at G 1 V, i.e. the pull in V^2/V, for
designs/xor_4x4_cl_4x.yaml's sizing, the 3 pF design's defaults, and the 4x sizing with one
device group back at its default. ``--vbp`` sets the followers' bias; ``--mc N`` adds the
offset spread from N Monte Carlo instances (~2 min each sizing).

    .venv/bin/python benchmarks/bench_pull_by_device.py [--vbp 0.6] [--mc 16]
"""

from __future__ import annotations

import argparse

import numpy as np

from twinedge.characterise.memory import SIGNAL, StepRun, step_dg
from twinedge.circuits.memory import MemoryBias, MemorySizing
from twinedge.pdk import get as get_pdk

SIZED_4X = dict(bias_w=1.5, bias_l=1.5, memory_w=2.0, memory_l=2.0, squarer_w=0.42,
                squarer_l=7.0, mirror_w=1.0, mirror_l=4.0, hold_cap_w=5.5, hold_cap_l=9.0,
                hold_cap_n=6)  # fmt: skip
GROUPS = {"bias": ("bias_w", "bias_l"), "squarer": ("squarer_w", "squarer_l"),
          "memory": ("memory_w", "memory_l"), "mirror": ("mirror_w", "mirror_l"),
          "hold": ("hold_cap_w", "hold_cap_l", "hold_cap_n")}  # fmt: skip
DEFAULTS = {**MemorySizing().as_dict(), "hold_cap_n": 3}  # the 3 pF design: three capacitors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vbp", type=float, default=0.6)
    ap.add_argument("--mc", type=int, default=0)
    args = ap.parse_args()
    pdk, bias = get_pdk("sky130"), MemoryBias(vbp=args.vbp)
    variants = {"3 pF defaults": DEFAULTS, "4x": SIZED_4X}
    for name, keys in GROUPS.items():
        variants[f"4x, {name} default"] = {**SIZED_4X, **{k: DEFAULTS[k] for k in keys}}
    g = np.round(np.arange(0.75, 1.26, 0.125), 6)
    x_sig = SIGNAL[0] ** 2 - SIGNAL[1] ** 2
    print(f"VBP {args.vbp} V; sizing | gain V/V^2 | pull V^2/V | power uW | offset mean/sd V^2")
    for name, sizes in variants.items():
        s = MemorySizing(**sizes)
        runs = [StepRun(0.0, 0.0, float(v)) for v in g] + [StepRun(*SIGNAL, 1.0)]
        dg, power = step_dg(runs, pdk, "tt", s, bias, 3e-12, 6000.0)
        zero = dg[: len(g)]
        gain = (dg[-1] - zero[len(g) // 2]) / x_sig
        pull = -np.polyfit(g, zero, 1)[0] / gain
        spread = "-"
        if args.mc:
            n = args.mc
            mc = [StepRun(0.0, 0.0, 1.0)] * n + [StepRun(*SIGNAL, 1.0)] * n
            d, _ = step_dg(mc, pdk, "tt", s, bias, 3e-12, 6000.0, mismatch_seed=0)
            off = d[:n] / ((d[n:] - d[:n]) / x_sig)
            spread = f"{off.mean():+.2e} / {off.std(ddof=1):.2e}"
        print(f"{name} | {gain:.3f} | {pull:.3e} | {power * 1e6:.2f} | {spread}", flush=True)


if __name__ == "__main__":
    main()
