"""Hybrid digital update (patent claim 1) against the analog rule: accuracy vs converter bits.

Trains designs/xor_4x4.yaml (SKY130 PDK-table twins, the simulator's ideal Eq. 4 as the
analog rule) and the same design with ``training.update: {mode: hybrid}`` at several
(ADC, DAC) resolutions, same seed and datapoint order. Printed side by side: final MSE and
XOR margin for each.

    .venv/bin/python benchmarks/bench_hybrid_bits.py [--bits 6,8 8,10 10,12 12,14]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from twinedge.learn.train import run_training
from twinedge.reports.metrics import task_metrics
from twinedge.spec import load_spec
from twinedge.spec.schema import HybridUpdate

DESIGNS = Path(__file__).resolve().parent.parent / "designs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", nargs="+", default=["6,8", "8,10", "10,12", "12,14"])
    ap.add_argument("--design", default=str(DESIGNS / "xor_4x4.yaml"))
    args = ap.parse_args()
    spec = load_spec(args.design)
    d = spec.design
    print(f"{d.name}: {d.training.n_steps} steps, seed {d.training.seed}")
    print(f"  {'update':34s} {'final MSE':>10s} {'XOR margin':>11s}")

    def run(name: str, design) -> None:
        res = run_training(replace(spec, design=design))
        m = task_metrics(design, res)
        margin = m["xor"]["min_margin_frac_of_l0"] if "xor" in m else float("nan")
        print(f"  {name:34s} {res.final_mse:10.2e} {margin:+11.2f}")

    run("analog (Eq. 4)", d)
    for pair in args.bits:
        adc, dac = (int(v) for v in pair.split(","))
        upd = HybridUpdate(mode="hybrid", adc_bits=adc, dac_bits=dac)
        tr = d.training.model_copy(update={"update": upd})
        run(f"hybrid, {adc}-bit ADC, {dac}-bit DAC", d.model_copy(update={"training": tr}))


if __name__ == "__main__":
    main()
