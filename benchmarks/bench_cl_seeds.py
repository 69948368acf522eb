"""How robust is XOR learning with the on-chip rule? The design's training over several
seeds, with the schematic circuit's rule and with the extracted cell's, side by side.

The flow trains one seed (``training.seed``: the order of the datapoints and each edge's
Monte Carlo draw of gain and residual). This runs the same training for ``--seeds``, with

* the schematic characterisation (``build/<d>/`` is not needed: it is cached),
* the post-layout rule: that characterisation with the extracted cell's residual line and
  gain (``build/<d>/post_layout_cell/post_layout.json``, written by ``twinedge flow``),

and prints each run's final MSE and XOR margin (fraction of |L0|; 0.2 needed).

    .venv/bin/twinedge flow designs/xor_4x4_cl.yaml      # once: the extracted cell
    .venv/bin/python benchmarks/bench_cl_seeds.py designs/xor_4x4_cl.yaml --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from twinedge.characterise.post_layout_cell import with_post_layout_memory
from twinedge.learn.train import circuit_characterisation, trainer
from twinedge.reports.metrics import XOR_MARGIN, task_metrics
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--build", type=Path, default=Path("build"))
    args = ap.parse_args()
    spec = load_spec(args.spec)
    d = spec.design
    cell_json = args.build / d.name / "post_layout_cell" / "post_layout.json"
    if not cell_json.is_file():
        raise SystemExit(f"error: {cell_json} missing: run `twinedge flow {args.spec}` first")
    schematic = circuit_characterisation(d)
    post = with_post_layout_memory(schematic, json.loads(cell_json.read_text()))
    print(
        f"{d.name}: eta {d.training.eta}, {d.training.steps} steps; pull (V^2/V) schematic "
        f"{schematic.pull_v2_per_v:.2e}, post-layout {post.pull_v2_per_v:.2e}"
    )
    print(f"{'rule':12s} {'seed':>4s} {'final MSE':>10s} {'margin |L0|':>12s} {'wall s':>7s}")
    for name, ch in (("schematic", schematic), ("post-layout", post)):
        margins = []
        for seed in args.seeds:
            tr = d.training.model_copy(update={"seed": seed})
            run = replace(spec, design=d.model_copy(update={"training": tr}))
            t0 = time.perf_counter()
            res = trainer(run, ch).run(None)
            m = task_metrics(run.design, res)["xor"]["min_margin_frac_of_l0"]
            margins.append(m)
            print(
                f"{name:12s} {seed:4d} {res.final_mse:10.2e} {m:+12.3f} "
                f"{time.perf_counter() - t0:7.1f}"
            )
        ok = sum(m >= XOR_MARGIN for m in margins)
        print(
            f"{name}: solved {ok}/{len(margins)} seeds, margin min {min(margins):+.3f} "
            f"median {np.median(margins):+.3f}"
        )


if __name__ == "__main__":
    main()
