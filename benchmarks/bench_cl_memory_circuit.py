"""The time-differenced update circuit against the present one: offsets measured in ngspice,
then XOR trained with each circuit's measured transfer, side by side.

Measures :mod:`twinedge.circuits.memory` (SKY130 ``tt``, the PDK's local-mismatch Monte
Carlo, optionally the other corners) by whole-step transients
(:func:`twinedge.characterise.memory.characterise_memory`), prints its per-step gain,
zero-input residual (input-referred, V^2), its spread, power; then trains the XOR of
``designs/xor_4x4_cl_mirror.yaml`` (PDK-table twins, eta 0.5) with

* the present circuit's characterised rule (``update_circuit``, the flow's rule today),
* the time-differenced circuit's measured per-step transfer (:class:`MemoryRule`): its T1,
  nominal zero-input residual against G, compliance and per-edge MC spread,

and prints final MSE and XOR margin (fraction of |L0|; > 0 means XOR is solved).

    .venv/bin/python benchmarks/bench_cl_memory_circuit.py [--steps 5000] [--corners] [--mc 32]
        [--t-h 2e-6] [--size squarer_w=0.42 ...] [--bias vbp=0.6 ...] [--nudge symmetric]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from twinedge.characterise.memory import characterise_memory, squarer_dc
from twinedge.characterise.mirror import FLOOR_MARGIN
from twinedge.circuits.memory import MemoryBias, MemorySizing
from twinedge.learn import train as training
from twinedge.learn.onchip import MemoryRule, RuleLearning
from twinedge.pdk import get as get_pdk
from twinedge.reports.metrics import task_metrics
from twinedge.sim.solver import EquilibriumSolver
from twinedge.spec import load_spec

DESIGNS = Path(__file__).resolve().parent.parent / "designs"
PDK = get_pdk("sky130")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--mc", type=int, default=32)
    ap.add_argument("--corners", action="store_true")
    ap.add_argument("--t-h", type=float, default=2e-6, help="LEARN time per step (s)")
    ap.add_argument("--size", nargs="*", default=[], help="MemorySizing overrides, k=v")
    ap.add_argument("--bias", nargs="*", default=[], help="MemoryBias overrides, k=v")
    ap.add_argument("--nudge", choices=("one_sided", "symmetric"), default="one_sided")
    args = ap.parse_args()
    sizing = MemorySizing(**{k: float(v) for k, v in (a.split("=") for a in args.size)})
    bias = MemoryBias(**{k: float(v) for k, v in (a.split("=") for a in args.bias)})
    kw = {"sizing": sizing, "bias": bias, "t_h": args.t_h, "g_min": 0.45}

    dv = np.linspace(0.0, 0.45, 10)
    for vbp in sorted({0.7, 0.5, 0.4, bias.vbp}, reverse=True):
        i = squarer_dc(PDK, "tt", sizing, vbp, dv)
        k = (i[1] - i[0]) / dv[1] ** 2
        ratio = (i[1:] - i[0]) / (k * dv[1:] ** 2)
        print(f"squarer pair DC, VBP {vbp}: bias {i[0] * 1e6:.3f} uA, k {k * 1e6:.2f} uA/V^2, "
              f"(I - I0) / (k dV^2) {ratio[3]:.2f} / {ratio[5]:.2f} / {ratio[8]:.2f} at "
              f"0.2 / 0.3 / 0.45 V")  # fmt: skip

    t0 = time.perf_counter()
    m = characterise_memory(PDK, "tt", mc_n=args.mc, **kw)
    print(f"time-differenced circuit, tt, C_G {m.c_gate_f:.3g} F, t_h {m.t_h:.3g} s "
          f"({time.perf_counter() - t0:.0f} s of ngspice)")  # fmt: skip
    print(f"  gain {m.gain_v_per_v2:.3f} V of G per V^2 per step, R^2 {m.r2:.4f} over "
          f"|dV| <= {m.range_v} V")  # fmt: skip
    print(f"  zero-input residual at G 1.0: MC mean {m.offset_mean_v2:+.2e} V^2, "
          f"sigma {m.offset_sigma_v2:.2e} V^2 ({m.mc_n} instances); gain sigma "
          f"{m.gain_sigma_rel:.1%}")  # fmt: skip
    print(
        f"  pull towards G_cal {m.g_cal:.3f} V: {m.pull_v2_per_v:.2e} V^2 per V; "
        f"window G {m.g_window[0]:.2f}..{m.g_window[1]:.2f} V; power {m.power_w * 1e6:.2f} uW"
    )
    dv, t1 = np.asarray(m.dv_grid), np.asarray(m.t1_v)
    ratio = {v: float(np.interp(v, dv, t1) / (m.gain_v_per_v2 * v * v)) for v in (0.2, 0.3, 0.45)}
    print("  squaring: T1(dV) / (gain dV^2) = "
          + ", ".join(f"{r:.2f} at {v} V" for v, r in ratio.items()))  # fmt: skip
    cm = np.asarray(m.common_v) / m.gain_v_per_v2
    errs = (f"{np.interp(v, dv, cm):+.1e} V^2 at {v} V" for v in (0.2, 0.3, 0.45))
    print("  no-nudge error dG(dV, dV) - dG(0, 0), input-referred: " + ", ".join(errs))
    if args.corners:
        for corner in ("ss", "ff", "sf", "fs"):
            c = characterise_memory(PDK, corner, mc_n=0, **kw)
            ref = c.g_grid.index(1.0)
            print(f"  corner {corner}: gain {c.gain_v_per_v2:.3f} V/V^2, zero-input residual "
                  f"at G 1.0 {c.zero_v[ref] / c.gain_v_per_v2:+.2e} V^2")  # fmt: skip

    spec = load_spec(DESIGNS / "xor_4x4_cl_mirror.yaml")
    d = spec.design
    tr_update = {"steps": args.steps, "nudge": args.nudge}
    d = d.model_copy(update={"training": d.training.model_copy(update=tr_update)})
    spec = replace(spec, design=d)
    base = training.trainer(spec)
    net, model, tr = base.net, base.solver.model, d.training
    print(f"XOR 4x4, eta {tr.eta} ({tr.nudge} nudge), {args.steps} steps")
    print(f"  {'update rule':56s} {'final MSE':>10s} {'XOR margin':>11s}")

    def report(name: str, rule) -> None:
        solver = EquilibriumSolver(net, model, itol=training.CL_ITOL)
        res = RuleLearning(net, model, spec.dataset, tr, rule=rule, solver=solver).run()
        margin = task_metrics(d, res)["xor"]["min_margin_frac_of_l0"]
        print(f"  {name:56s} {res.final_mse:10.2e} {margin:+11.2f}")

    report("present mirror circuit (the flow's rule, PDK mismatch)", training.update_rule(d))
    floor = tr.g_min - FLOOR_MARGIN
    report(
        "time-differenced circuit (measured, nominal)",
        MemoryRule(m, net.n_edges, floor, mismatch=False, seed=tr.seed, g_max=PDK.vdd),
    )
    for seed in (tr.seed, tr.seed + 1, tr.seed + 2):
        report(
            f"time-differenced circuit (measured, MC spread, seed {seed})",
            MemoryRule(m, net.n_edges, floor, mismatch=True, seed=seed, g_max=PDK.vdd),
        )


if __name__ == "__main__":
    main()
