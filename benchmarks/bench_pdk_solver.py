"""PDK-calibrated fast solvers vs the ngspice loop, per training step, on one network.

Both train the 4x4 XOR schematic twin network (designs/xor_4x4.yaml, SKY130 nfet_01v8)
for the same steps from the same seed. The fast paths use the ngspice-swept device table:
the compiled twin step (one numba call per step) and the numpy solver; the reference is
ngspice itself (in-process, parsed once, the
gate/input/clamp sources ``alter``ed each step, two operating points per step), the same
loop the post-layout stage runs on extracted netlists. Printed: ms per step for each, their
ratio, and the largest node-voltage difference between the two at the final G (every
datapoint, both twins), plus the largest G difference after the run; and the symmetric
nudge's step (three equilibria) compiled and with numpy.

With ``--extracted BUILD/pex`` (the folder ``twinedge flow designs/xor_4x4.yaml`` writes)
it also trains on the extracted netlist both ways for the same steps: ngspice per operating
point, and the wiring reduced to the transistors' terminals with the PDK table
(:mod:`twinedge.learn.reduced`); ms per step, their ratio, the largest terminal voltage
difference at every 10th step and the final G difference.

    .venv/bin/python benchmarks/bench_pdk_solver.py [--steps 500] [--extracted build/xor_4x4/pex]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from twinedge.learn.post_layout import PostLayoutLearning
from twinedge.pdk import sky130
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.sim.solver import EquilibriumSolver
from twinedge.spec import load_spec
from twinedge.spice.deck import node_name
from twinedge.spice.shared import shared

DESIGNS = Path(__file__).resolve().parent.parent / "designs"
OPTIONS = ".options gmin=1e-15 abstol=1e-15 reltol=1e-7 vntol=1e-9 itl1=500"


class SchematicTwins:
    """Both twins of the schematic network in one ngspice deck, gates shared."""

    def __init__(self, net: Network, lib: Path) -> None:
        self.net = net
        outs = ["plus", "minus"] if net.differential else ["o"]
        self.out_nodes = list(net.output_nodes)
        held = set(net.input_nodes.tolist()) | set(net.const_nodes.tolist())
        lines = ["* schematic twins", f".lib {lib} tt"]
        for e, (a, b) in enumerate(net.edges.tolist()):
            for t in ("f", "c"):
                na = self._node(a, t, held)
                nb = self._node(b, t, held)
                lines.append(f"X{t}{e} {na} g{e} {nb} 0 {sky130.NFET} w=1 l=1")
            lines.append(f"vg_{e} g{e} 0 dc 0")
        for name, node in zip(net.input_names, net.input_nodes, strict=True):
            lines.append(f"vin_{name} {node_name(net, int(node))} 0 dc 0")
        for name, node, v in zip(net.const_names, net.const_nodes, net.const_volts, strict=True):
            lines.append(f"vk_{name} {node_name(net, int(node))} 0 dc {float(v)!r}")
        for k, node in enumerate(self.out_nodes):
            lines.append(f"vcl_{outs[k]} {node_name(net, int(node))}_c 0 dc 0")
        self.clamp_names = [f"vcl_{o}" for o in outs]
        self.ng = shared()
        self.ng.reset()
        self.ng.load("\n".join([*lines, OPTIONS, ".end"]))
        self.held = held

    def _node(self, n: int, twin: str, held: set[int]) -> str:
        return node_name(self.net, n) if n in held else f"{node_name(self.net, n)}_{twin}"

    def set_gates(self, g: np.ndarray) -> None:
        for e, v in enumerate(g):
            self.ng.alter(f"vg_{e}", float(v))

    def set_inputs(self, x: np.ndarray) -> None:
        for name, v in zip(self.net.input_names, x, strict=True):
            self.ng.alter(f"vin_{name}", float(v))

    def set_clamp(self, volts: np.ndarray) -> None:
        for name, v in zip(self.clamp_names, volts, strict=True):
            self.ng.alter(name, float(v))

    def op(self, tag: str) -> None:
        self.ng.command("destroy all")
        self.ng.command("op")

    def voltages(self, twin: str) -> np.ndarray:
        return np.array(
            [
                self.ng.vector(f"v({self._node(n, twin, self.held)})")[0]
                for n in range(self.net.n_nodes)
            ]
        )

    def free_outputs(self) -> np.ndarray:
        return self.voltages("f")[self.out_nodes]

    def device_dv(self, twin: str) -> np.ndarray:
        v = self.voltages(twin.lower())
        return v[self.net.edges[:, 0]] - v[self.net.edges[:, 1]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--extracted", type=Path, default=None, help="a flow's pex folder")
    args = ap.parse_args()
    spec = load_spec(DESIGNS / "xor_4x4.yaml")
    tr = spec.design.training.model_copy(
        update={"steps": args.steps, "duration": None, "log_every": args.steps}
    )
    spec = replace(spec, design=spec.design.model_copy(update={"training": tr}))
    net = Network.from_design(spec.design)
    model = edge_model(spec.design)  # builds / loads the cached table outside the timing

    def timed(compiled: bool, nudge: str = "one_sided") -> tuple[CoupledLearning, float]:
        training = tr.model_copy(update={"nudge": nudge})

        def learner() -> CoupledLearning:
            solver = EquilibriumSolver(net, model, compiled=compiled)
            return CoupledLearning(net, model, spec.dataset, training, solver, compiled=compiled)

        learner().learn(0)  # the kernels' first call compiles them (cached on disk after)
        run = learner()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            run.learn(int(run.rng.integers(len(spec.dataset.labels))))
        return run, (time.perf_counter() - t0) / args.steps

    fast, fast_s = timed(True)
    numpy_run, numpy_s = timed(False)
    sym, sym_s = timed(True, "symmetric")
    sym_numpy, sym_numpy_s = timed(False, "symmetric")

    twins = SchematicTwins(net, sky130.reduced_model_lib())
    slow = PostLayoutLearning(spec, twins)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        slow.learn(int(slow.rng.integers(len(spec.dataset.labels))))
    slow_s = (time.perf_counter() - t0) / args.steps

    # node voltages of both at the fast run's final G, every datapoint and twin
    worst = 0.0
    twins.set_gates(fast.g)
    for p in range(len(spec.dataset.labels)):
        vf, vc = fast.twin_states(p)
        twins.set_inputs(spec.dataset.inputs[p])
        twins.op("free")
        worst = max(worst, float(np.abs(twins.voltages("f") - vf).max()))
        twins.set_clamp(vc[net.output_nodes])
        twins.op("clamped")
        worst = max(worst, float(np.abs(twins.voltages("c") - vc).max()))
    print(f"4x4 XOR schematic twins, SKY130 nfet_01v8 (tt), {args.steps} learning steps")
    print(f"  compiled twin step (PDK table): {1e3 * fast_s:8.3f} ms/step")
    print(f"  numpy solver (PDK table):       {1e3 * numpy_s:8.3f} ms/step")
    print(f"  ngspice loop (BSIM4):           {1e3 * slow_s:8.3f} ms/step")
    print(
        f"  ratio: compiled {slow_s / fast_s:.1f}x, numpy {slow_s / numpy_s:.1f}x the ngspice "
        f"loop; compiled vs numpy: max |G difference| {np.abs(fast.g - numpy_run.g).max():.1e} V"
    )
    print(f"  max |node voltage difference| at the final G: {1e6 * worst:.1f} uV")
    print(f"  max |G difference| after {args.steps} steps: {np.abs(fast.g - slow.g).max():.2e} V")
    print("  symmetric nudge (three equilibria a step: free, clamped at -eta and +eta):")
    print(f"    compiled twin step: {1e3 * sym_s:8.3f} ms/step")
    print(f"    numpy solver:       {1e3 * sym_numpy_s:8.3f} ms/step")
    print(
        f"    ratio: compiled {sym_numpy_s / sym_s:.1f}x numpy; max |G difference| "
        f"{np.abs(sym.g - sym_numpy.g).max():.1e} V"
    )
    if args.extracted is not None:
        extracted(spec, args.extracted, args.steps)


def extracted(spec, folder: Path, steps: int) -> None:
    """Post-layout training both ways on one extracted netlist (module docstring)."""
    from twinedge.learn.post_layout import ExtractedTwins
    from twinedge.learn.reduced import ReducedTwins
    from twinedge.pdk import activate
    from twinedge.stages.post_layout import corner_of, model_library
    from twinedge.verify.pex import load_extraction

    activate("sky130")
    ext = load_extraction(folder)
    lib, corner = model_library(spec), corner_of(spec)

    def timed(learner) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            learner.learn(int(learner.rng.integers(len(spec.dataset.labels))))
        return (time.perf_counter() - t0) / steps

    reduced = ReducedTwins(spec, ext, edge_model(spec.design))
    warm = PostLayoutLearning(spec, reduced)
    warm.learn(0)  # compiles the kernel (cached on disk after)
    fast = PostLayoutLearning(spec, ReducedTwins(spec, ext, edge_model(spec.design)))
    fast_s = timed(fast)
    checked = PostLayoutLearning(spec, ReducedTwins(spec, ext, edge_model(spec.design)),
                                 ExtractedTwins(spec, ext, lib, corner), 10)  # fmt: skip
    timed(checked)
    slow = PostLayoutLearning(spec, ExtractedTwins(spec, ext, lib, corner))
    slow_s = timed(slow)
    print(f"extracted netlist ({ext.netlist.name}: {ext.n_resistors} resistors; reduced to "
          f"{len(reduced.nodes)} nodes), {steps} learning steps")  # fmt: skip
    print(f"  reduced wiring + PDK table: {1e3 * fast_s:8.3f} ms/step")
    print(f"  ngspice per operating point: {1e3 * slow_s:8.3f} ms/step")
    print(f"  ratio: {slow_s / fast_s:.1f}x; worst terminal voltage difference at "
          f"{checked.checks} checked steps: {1e6 * checked.worst_check_v:.1f} uV; max |G "
          f"difference| after {steps} steps: {np.abs(fast.g - slow.g).max():.2e} V")  # fmt: skip


if __name__ == "__main__":
    main()
