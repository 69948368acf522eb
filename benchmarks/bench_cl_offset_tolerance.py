"""How much update-circuit offset can on-chip Coupled Learning of XOR tolerate?

Trains designs/xor_4x4_cl_mirror.yaml (SKY130 PDK-table twins, the on-chip circuit's nominal rate
and timing) with an exact update rule plus a per-edge constant offset, input-referred in
V^2 of dV_F^2 - dV_C^2, drawn with sigma = 0, 1e-5 ... 1e-3; then with errors that vanish
with the nudge (the rule written as S * Sigma, S = dV_F - dV_C, Sigma = dV_F + dV_C: a
per-edge gain error, and an error beta_e in Sigma, i.e. x = S (Sigma (1 + g_e) + beta_e)),
which tell what an update circuit may get wrong; then with the characterised circuit itself
(its systematic errors and the PDK mismatch spread), and with the hybrid digital update.
Printed side by side: final MSE, XOR margin, and the median |dV_F^2 - dV_C^2| the network
produces at the start (the signal the offsets compete with).

    .venv/bin/python benchmarks/bench_cl_offset_tolerance.py [--steps 5000]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from twinedge.characterise.mirror import FLOOR_MARGIN
from twinedge.learn import train as training
from twinedge.learn.onchip import IdealRule, RuleLearning
from twinedge.reports.metrics import task_metrics
from twinedge.sim.solver import ConvergenceError, EquilibriumSolver
from twinedge.spec import load_spec

DESIGNS = Path(__file__).resolve().parent.parent / "designs"


class SigmaErrorRule(IdealRule):
    """x = S (Sigma (1 + gain_e) + beta_e): every error is proportional to S, the nudge."""

    def __init__(self, rate, t_h, g_min, g_max, gain: np.ndarray, beta: np.ndarray) -> None:
        super().__init__(rate, t_h, g_min, g_max)
        self.gain, self.beta = gain, beta

    def __call__(self, g: np.ndarray, dvf: np.ndarray, dvc: np.ndarray) -> np.ndarray:
        x = (dvf - dvc) * ((dvf + dvc) * self.gain + self.beta)
        return np.clip(g + self.rate * self.t_h * x, self.g_min, self.g_max)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5000)
    args = ap.parse_args()
    spec = load_spec(DESIGNS / "xor_4x4_cl_mirror.yaml")
    d = spec.design
    d = d.model_copy(update={"training": d.training.model_copy(update={"steps": args.steps})})
    spec = replace(spec, design=d)
    base = training.trainer(spec)
    ch = base.rule.ch
    rate, tr = ch.pulse_rate, d.training
    net, model = base.net, base.solver.model
    a, b = net.edges[:, 0], net.edges[:, 1]
    x0 = []
    for p in range(len(spec.dataset.labels)):
        vf, vc = base.twin_states(p)
        x0.append(np.abs((vf[a] - vf[b]) ** 2 - (vc[a] - vc[b]) ** 2))
    print(f"4x4 XOR, on-chip timing (t_h {tr.t_h:.3g} s), {args.steps} steps, eta {tr.eta}")
    print(f"  signal at the start: median |dV_F^2 - dV_C^2| = {np.median(x0):.2e} V^2")
    print(f"  characterised circuit: offset sigma {ch.offset_sigma_a / ch.gain_a_per_v2:.2e} "
          f"V^2 (input-referred), nominal {ch.offset_a / ch.gain_a_per_v2:.2e} V^2")  # fmt: skip
    print(f"  {'update rule':48s} {'final MSE':>10s} {'XOR margin':>11s}")

    def report(name: str, learner: RuleLearning) -> None:
        try:
            res = learner.run()
        except ConvergenceError as exc:
            print(f"  {name:48s} failed: {exc}")
            return
        m = task_metrics(d, res)
        print(f"  {name:48s} {res.final_mse:10.2e} {m['xor']['min_margin_frac_of_l0']:+11.2f}")

    def learner(rule) -> RuleLearning:
        solver = EquilibriumSolver(net, model, itol=training.CL_ITOL)
        return RuleLearning(net, model, spec.dataset, tr, rule=rule, solver=solver)

    for sigma in (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3):
        off = np.random.default_rng(7).normal(0.0, sigma, net.n_edges)
        rule = IdealRule(rate, tr.t_h, tr.g_min - FLOOR_MARGIN, tr.g_max, offset_v2=off)
        report(f"exact rule + offset sigma {sigma:.0e} V^2", learner(rule))
    rng = np.random.default_rng(11)
    for gain_s, beta_s in ((0.1, 0.0), (0.0, 0.03), (0.0, 0.1), (0.1, 0.1)):
        rule = SigmaErrorRule(
            rate,
            tr.t_h,
            tr.g_min - FLOOR_MARGIN,
            tr.g_max,
            1.0 + rng.normal(0.0, gain_s, net.n_edges),
            rng.normal(0.0, beta_s, net.n_edges),
        )
        report(f"S x Sigma, gain sigma {gain_s:.0%}, Sigma error {beta_s} V", learner(rule))
    report(
        "characterised circuit, nominal (no mismatch)",
        learner(training.update_rule(training.nominal_circuit(d))),
    )
    report("characterised circuit, PDK mismatch", learner(training.update_rule(d)))
    hybrid = load_spec(DESIGNS / "xor_4x4_cl_hybrid.yaml").design
    hybrid = hybrid.model_copy(
        update={"training": hybrid.training.model_copy(update={"steps": args.steps})}
    )
    report("hybrid digital (8-bit ADC, 10-bit DAC)", learner(training.update_rule(hybrid)))


if __name__ == "__main__":
    main()
