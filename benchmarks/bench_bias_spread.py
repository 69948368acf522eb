"""Carry the on-chip bias generator's spread into the learning rule: does the chip still
learn when its biases sit at +-3 sigma of their Monte Carlo spread?

The bias generator (twinedge/circuits/bias.py) is sized to the design's biases and
characterised (one generator per chip: its Monte Carlo spread is chip to chip). For each
chosen bias at -3 sigma and +3 sigma, the memory circuit is characterised again with the PDK
models at that bias (cached), and XOR is trained with that rule for the seeds. VFLOOR is
calibrated in the characterisation (the level at which the floor sources its design
current); its spread shifts that level (``MemoryConditions.vfloor_shift``).

    .venv/bin/python benchmarks/bench_bias_spread.py designs/xor_chip_sky130.yaml --nets vbp
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from seeds import solved, with_seed, xor_margin

from twinedge.characterise.bias import characterise_bias
from twinedge.characterise.chip import bias_targets
from twinedge.learn.train import cached_circuit, circuit_conditions, trainer
from twinedge.pdk import get as get_pdk
from twinedge.spec import load_spec

SIGMAS = 3.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", type=Path)
    ap.add_argument("--nets", nargs="+", default=["vbp"], choices=["vbp", "vcn", "vcp", "vfloor"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = ap.parse_args()
    spec = load_spec(args.spec)
    d = spec.design
    gen = characterise_bias(get_pdk(d.pdk), bias_targets(spec))
    base = circuit_conditions(d)
    print("bias | V | gain V/V2 | offset sd V2 | pull V2/V | XOR solved | min margin |L0|")
    for net in args.nets:
        sigma = gen.mc_sigma_v[net]
        for k in (-SIGMAS, 0.0, SIGMAS):
            t0 = time.perf_counter()
            if net == "vfloor":
                m = cached_circuit(replace(base, vfloor_shift=round(k * sigma, 6)))
                v = m.vfloor
            else:
                v = getattr(base.bias, net) + k * sigma
                m = cached_circuit(replace(base, bias=replace(base.bias, **{net: round(v, 6)})))
            margins = []
            for seed in args.seeds:
                run = with_seed(spec, d, seed)
                margins.append(xor_margin(run, trainer(run, m).run(None)))
            ok = solved(margins)
            print(f"{net} {k:+.0f} sigma ({1e3 * sigma:.2f} mV) | {v:.4f} | "
                  f"{m.gain_v_per_v2:.3g} | {m.offset_sigma_v2:.2e} | {m.pull_v2_per_v:.2e} | "
                  f"{ok}/{len(margins)} | {min(margins):+.3f} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
