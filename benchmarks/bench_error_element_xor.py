"""Does the on-chip learning design still learn XOR when the chip's error element, not an
ideal source, forms the clamped outputs?

The error element (twinedge/circuits/error_element.py: two PMOS differential difference
amplifiers, one per clamped output) is characterised with the PDK models for the design's
k = eta / 2 and its labels (transfer table over the free outputs, offsets, Monte Carlo), then
the design's training runs for ``--seeds`` three ways, side by side:

* ideal: the clamp O+- +- k (L - O) as before;
* element: the characterised transfer (its compression at large |L - O|, its common offset,
  the floor at 0 V: it cannot pull a node below ground);
* element + mismatch: each amplifier also carries its own offsets drawn from the Monte Carlo
  spread (the seed's draw).

    .venv/bin/python benchmarks/bench_error_element_xor.py designs/xor_4x4_cl.yaml --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from twinedge.characterise.error_element import characterise_error_element, conditions_for
from twinedge.learn.clamp import ErrorElementClamp
from twinedge.learn.train import circuit_characterisation, trainer
from twinedge.pdk import get as get_pdk
from twinedge.reports.metrics import XOR_MARGIN, task_metrics
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--mc", type=int, default=16, help="Monte Carlo instances of the element")
    args = ap.parse_args()
    spec = load_spec(args.spec)
    d = spec.design
    cond = conditions_for(d, spec.dataset.labels, args.mc)  # chip.error_element's knobs
    t0 = time.perf_counter()
    ch = characterise_error_element(get_pdk(d.pdk), cond)
    print(
        f"error element (k {ch.k_realised:+.3f}, {time.perf_counter() - t0:.0f} s): gain "
        f"{ch.gain:.3f} over 0..0.45 V outputs, common offset {1e3 * ch.offset_common_v:+.2f} "
        f"mV (sigma {1e3 * ch.mc_offset_common_sigma_v:.2f}), sign-flipping offset "
        f"{1e3 * ch.offset_flip_v:+.3f} mV (sigma {1e3 * ch.mc_offset_flip_sigma_v:.2f}), "
        f"settles in {1e9 * ch.settle_s:.0f} ns, {1e6 * ch.power_w:.1f} uW per amplifier"
    )
    rule = circuit_characterisation(d)
    print(f"{'clamp':20s} {'seed':>4s} {'final MSE':>10s} {'margin |L0|':>12s} {'wall s':>7s}")
    for name in ("ideal", "element", "element + mismatch"):
        margins = []
        for seed in args.seeds:
            tr = d.training.model_copy(update={"seed": seed})
            run = replace(spec, design=d.model_copy(update={"training": tr}))
            clamp = None
            if name != "ideal":
                mc = np.random.default_rng(seed) if name.endswith("mismatch") else None
                clamp = ErrorElementClamp(ch, mc)
            learner = trainer(run, rule, clamp)
            t1 = time.perf_counter()
            res = learner.run(None)
            m = task_metrics(run.design, res)["xor"]["min_margin_frac_of_l0"]
            margins.append(m)
            print(
                f"{name:20s} {seed:4d} {res.final_mse:10.2e} {m:+12.3f} "
                f"{time.perf_counter() - t1:7.1f}"
            )
        ok = sum(m >= XOR_MARGIN for m in margins)
        print(f"{name}: solved {ok}/{len(margins)} seeds, margin min {min(margins):+.3f}")


if __name__ == "__main__":
    main()
