"""Carry the process corners into the learning rule: does the chip still learn when its
devices and the biases its on-chip generator makes both sit at a corner?

At each corner the bias generator (twinedge/circuits/bias.py, sized at tt to the design's
biases) puts out other levels (its diode strings' Vgs move); the memory circuit is
characterised with the PDK models at that corner and at those levels (cached). VFLOOR is
calibrated in each characterisation (the level at which the floor sources its design
current at that corner): the generator's level is carried as its offset from that
calibration (``MemoryConditions.vfloor_shift``), so a corner costs two characterisations.
XOR is then trained with each corner's rule for the seeds.

``--trim-learn``: what a board does once per chip. The rule's gain (G moved per V^2 of
the twins' difference, per step) scales with LEARN's length, which the board's clock sets;
at a corner the devices move it (ff: +12 %). The board measures it through the G read-out
(one step from the reset state, the G moved against the model's) and lengthens or shortens
LEARN by the ratio to the design's tt gain; here the corner's characterised gain stands for
that measurement, and the rule is characterised again at the trimmed LEARN.

A design without a chip section (an array whose biases come from the board) keeps the
design's VBP / VCN / VCP at every corner, and VFLOOR at its tt calibration (the board sets
each level once, at the typical chip): only the devices move.

    .venv/bin/python benchmarks/bench_bias_corners.py designs/xor_chip_sky130.yaml --corners ss ff
    .venv/bin/python benchmarks/bench_bias_corners.py designs/xor_chip_sky130.yaml --trim-learn
    .venv/bin/python benchmarks/bench_bias_corners.py designs/xor_4x4_cl_gf180.yaml
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from seeds import solved, with_seed, xor_margin

from twinedge.characterise.bias import CORNERS, characterise_bias
from twinedge.characterise.chip import bias_targets
from twinedge.learn.train import cached_circuit, circuit_conditions, trainer
from twinedge.pdk import get as get_pdk
from twinedge.spec import load_spec

VFLOOR_SAME_V = 1e-4  # the generator's floor this close to the calibrated one: no shift


def rule_at_corner(base, corner: str, levels: dict[str, float], t_h: float):
    """The memory circuit characterised with the devices and the generator's ``levels``
    at ``corner``, LEARN ``t_h`` long; VFLOOR carried as its offset from the calibration.
    Returns (characterisation, calibrated VFLOOR)."""
    bias = replace(base.bias, vbp=round(levels["vbp"], 6), vcn=round(levels["vcn"], 6),
                   vcp=round(levels["vcp"], 6))  # fmt: skip
    at_corner = replace(base, corner=corner, bias=bias, t_h=round(t_h, 9))
    m = cached_circuit(at_corner)
    calibrated = m.vfloor
    shift = levels["vfloor"] - calibrated
    if abs(shift) > VFLOOR_SAME_V:
        m = cached_circuit(replace(at_corner, vfloor_shift=round(shift, 6)))
    return m, calibrated


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", type=Path)
    ap.add_argument("--corners", nargs="+", default=list(CORNERS), choices=CORNERS)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    trim = ap.add_mutually_exclusive_group()
    trim.add_argument(
        "--learn-scale",
        type=float,
        default=1.0,
        help="LEARN's length at the corner over the design's (the board's clock)",
    )
    trim.add_argument(
        "--trim-learn",
        action="store_true",
        help="scale LEARN at each corner so that the rule's gain is the tt design's",
    )
    args = ap.parse_args()
    spec = load_spec(args.spec)
    d = spec.design
    base = circuit_conditions(d)
    if d.chip is not None:
        levels = characterise_bias(get_pdk(d.pdk), bias_targets(spec)).corners_v
    else:  # the board's levels: the design's, VFLOOR as calibrated at tt
        b = base.bias
        fixed = {"vbp": b.vbp, "vcn": b.vcn, "vcp": b.vcp, "vfloor": cached_circuit(base).vfloor}
        levels = dict.fromkeys(args.corners, fixed)
    gain_tt = cached_circuit(base).gain_v_per_v2 if args.trim_learn else None
    print("corner | VBP / VCN / VCP (V) | VFLOOR made / calibrated (V) | LEARN scale | "
          "gain V/V2 | offset sd V2 | pull V2/V | XOR solved | min margin |L0|")  # fmt: skip
    for corner in args.corners:
        t0 = time.perf_counter()
        v = levels[corner]
        scale = args.learn_scale
        m, calibrated = rule_at_corner(base, corner, v, base.t_h * scale)
        if gain_tt is not None:
            scale = gain_tt / m.gain_v_per_v2
            m, calibrated = rule_at_corner(base, corner, v, base.t_h * scale)
        margins = []
        for seed in args.seeds:
            run = with_seed(spec, d, seed)
            margins.append(xor_margin(run, trainer(run, m).run(None)))
        print(f"{corner} | {v['vbp']:.4f} / {v['vcn']:.4f} / {v['vcp']:.4f} | "
              f"{v['vfloor']:.4f} / {calibrated:.4f} | {scale:.4f} | {m.gain_v_per_v2:.3g} | "
              f"{m.offset_sigma_v2:.2e} | {m.pull_v2_per_v:.2e} | "
              f"{solved(margins)}/{len(margins)} | {min(margins):+.3f} "
              f"({', '.join(f'{x:+.3f}' for x in margins)}; {time.perf_counter() - t0:.0f} s)",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
