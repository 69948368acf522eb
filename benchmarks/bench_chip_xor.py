"""Does the XOR chip's behavioural model - the one the whole-chip transient checks - learn
XOR to completion?

The model of ``twinedge.characterise.chip``: the characterised update rule (each edge's
mismatch drawn from the seed), the characterised error element (each amplifier's offsets
drawn from its Monte Carlo spread), and LEARN in slices (G moves during LEARN; the CAL state
is held, as the memory holds it). ``--within 1`` is the flow's training (one piece); the chip
transient agrees with the sliced model about 2x better (docs/periphery.md).

    .venv/bin/python benchmarks/bench_chip_xor.py designs/xor_chip_sky130.yaml --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from seeds import solved, with_seed, xor_margin

from twinedge.characterise.chip import WITHIN
from twinedge.characterise.error_element import cached_error_element, conditions_for
from twinedge.learn.clamp import ErrorElementClamp
from twinedge.learn.train import circuit_characterisation, trainer
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--within", type=int, nargs="+", default=[WITHIN])
    ap.add_argument("--steps", type=int, default=None, help="override training.steps")
    args = ap.parse_args()
    spec = load_spec(args.spec)
    d = spec.design
    ch = cached_error_element(d.pdk, conditions_for(d, spec.dataset.labels))
    rule = circuit_characterisation(d)
    head = ("LEARN slices", "seed", "final MSE", "margin |L0|", "wall s")
    print(" ".join(f"{h:>{w}s}" for h, w in zip(head, (12, 4, 10, 12, 7), strict=True)))
    for within in args.within:
        margins = []
        for seed in args.seeds:
            run = with_seed(spec, d, seed, **({"steps": args.steps} if args.steps else {}))
            clamp = ErrorElementClamp(ch, np.random.default_rng(seed))
            learner = trainer(run, rule, clamp, within=within)
            t1 = time.perf_counter()
            res = learner.run(None)
            m = xor_margin(run, res)
            margins.append(m)
            print(f"{within:12d} {seed:4d} {res.final_mse:10.2e} {m:+12.3f} "
                  f"{time.perf_counter() - t1:7.1f}")  # fmt: skip
        ok = solved(margins)
        print(f"{within} slices: solved {ok}/{len(margins)} seeds, margin min {min(margins):+.3f}")


if __name__ == "__main__":
    main()
