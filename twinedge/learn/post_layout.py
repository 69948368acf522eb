"""Post-layout training: Coupled Learning on the extracted netlist, solved by ngspice
(:class:`ExtractedTwins`) or by its reduction to the transistors' terminals
(:class:`twinedge.learn.reduced.ReducedTwins`, which the flow uses and checks against it).

Both twins live in the one extracted netlist (free nets ``*_F``, clamped nets ``*_C``, the
shared gates ``G<k>``), with the PDK's own transistor model and every wire's resistance.
The circuit is parsed once; each learning step ``alter``s the gate, input and clamp
sources and runs two operating points: the free one (to read O), then the clamped one with
the outputs nudged from it. The update uses the voltage across each transistor's own
terminals, as the on-chip rule would see it. Capacitors are left out of this DC deck (they
change no operating point); the energy stage simulates them.

The datapoint order, initial G and update arithmetic are those of
:class:`twinedge.sim.learning.CoupledLearning` with the same seed, so the schematic-level
and post-layout runs differ only by the circuit they solve.
"""

from __future__ import annotations

import numpy as np

from twinedge.circuits.nets import pin_placements
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.sim.solver import ConvergenceError
from twinedge.spec.loader import LoadedSpec
from twinedge.spice.shared import NgspiceShared, NgspiceSharedError, shared
from twinedge.verify.pex import Extraction

DC_OPTIONS = ".options gmin=1e-15 abstol=1e-15 reltol=1e-7 vntol=1e-9 itl1=500"

Source = tuple[str, str, str]  # (name, node, value: "dc 0.1", "pwl(...)")


def source_name(kind: str, name: str) -> str:
    """The ngspice name of a driving source: g (gate), in (input), k (constant), cl (clamp)."""
    return f"v{kind}_{name}".lower()


def drive_sources(
    net: Network,
    ext: Extraction,
    g: np.ndarray,
    inputs: list[str],
    clamp_ports: list[str],
) -> list[Source]:
    """Sources on every port of the extracted twins that a run drives: each edge's gate at
    ``g``, each input with its value spec (``inputs``, in pin order), the constants, and a
    clamp source per port in ``clamp_ports``."""
    sources = [
        (source_name("g", str(e)), port, f"dc {float(g[e])!r}")
        for e, port in enumerate(ext.gate_port)
    ]
    sources += [
        (source_name("in", name), name, value)
        for name, value in zip(net.input_names, inputs, strict=True)
    ]
    sources += [
        (source_name("k", name), name, f"dc {float(volts)!r}")
        for name, volts in zip(net.const_names, net.const_volts, strict=True)
    ]
    sources += [(source_name("cl", port), port, "dc 0") for port in clamp_ports]
    return sources


def extracted_deck(
    title: str,
    ext: Extraction,
    model_lib: str,
    corner: str,
    sources: list[Source],
    options: str,
    with_caps: bool,
) -> str:
    """The extracted netlist at top level with the PDK models and ``sources`` attached."""
    lines = [
        f"* {title}",
        f".lib {model_lib} {corner}",
        ext.flat_body(with_caps),
        *(f"{name} {node} 0 {value}" for name, node, value in sources),
        options,
        ".end",
    ]
    return "\n".join(lines) + "\n"


class ExtractedTwins:
    """The extracted netlist loaded in ngspice, with named sources on every port it drives."""

    def __init__(self, spec: LoadedSpec, extraction: Extraction, model_lib: str, corner: str):
        self.net = net = Network.from_design(spec.design)
        outs = [p for p in pin_placements(net) if p.twin != "FC"]
        self.free_out = [p.name for p in outs if p.twin == "F"]
        self.clamp_out = [p.name for p in outs if p.twin == "C"]
        self.sources = drive_sources(
            net,
            extraction,
            np.zeros(len(extraction.gate_port)),
            ["dc 0"] * len(net.input_names),
            self.clamp_out,
        )
        self.ng: NgspiceShared = shared()
        self.ng.reset()
        self.ng.load(
            extracted_deck(
                f"{spec.design.name}: extracted twins ({extraction.tool})",
                extraction,
                model_lib,
                corner,
                self.sources,
                DC_OPTIONS,
                with_caps=False,
            )
        )
        self.twin_terms = {
            t: [(d.d.lower(), d.s.lower()) for d in extraction.twin_devices(t)] for t in "FC"
        }
        self._g: np.ndarray | None = None

    def set_gates(self, g: np.ndarray) -> None:
        for e, value in enumerate(g):
            if self._g is None or value != self._g[e]:
                self.ng.alter(source_name("g", str(e)), float(value))
        self._g = g.copy()

    def set_inputs(self, x: np.ndarray) -> None:
        for name, value in zip(self.net.input_names, x, strict=True):
            self.ng.alter(source_name("in", name), float(value))

    def set_clamp(self, volts: np.ndarray) -> None:
        for name, value in zip(self.clamp_out, volts, strict=True):
            self.ng.alter(source_name("cl", name), float(value))

    def op(self, tag: str) -> None:
        try:
            self.ng.command("destroy all")
            self.ng.command("op")
        except NgspiceSharedError as exc:
            raise ConvergenceError(f"{tag} (ngspice: {exc})", float("nan"), 0) from None

    def v(self, node: str) -> float:
        return float(self.ng.vector(f"v({node.lower()})")[0])

    def free_outputs(self) -> np.ndarray:
        return np.array([self.v(n) for n in self.free_out])

    def source_power(self) -> float:
        """Power delivered by the input, constant and clamp sources at the last op (W)."""
        return sum(
            -self.v(node) * float(self.ng.vector(f"i({name})")[0])
            for name, node, _ in self.sources
            if not name.startswith(source_name("g", ""))
        )

    def device_dv(self, twin: str) -> np.ndarray:
        """Voltage across each twin transistor (drain - source), network-edge order."""
        return np.array([self.v(d) - self.v(s) for d, s in self.twin_terms[twin]])


class PostLayoutLearning(CoupledLearning):
    """Coupled Learning whose equilibria come from the extracted netlist: ngspice
    (:class:`ExtractedTwins`) or its reduction (:class:`twinedge.learn.reduced.ReducedTwins`).
    With a ``reference`` (ngspice on the same netlist), every ``check_every``-th step is
    solved by both and the largest difference of any transistor terminal's voltage is kept
    (``worst_check_v``)."""

    def __init__(
        self,
        spec: LoadedSpec,
        twins,
        reference: ExtractedTwins | None = None,
        check_every: int = 0,
    ) -> None:
        d = spec.design
        super().__init__(
            Network.from_design(d), edge_model(d), spec.dataset, d.training, compiled=False
        )
        self.twins = twins
        self.reference, self.check_every = reference, check_every
        self.checks, self.worst_check_v, self.worst_power_rel = 0, 0.0, 0.0
        self.charge_up_v = 0.0  # sum over steps and edges of the G increases (V)
        self.n_updates = 0

    def _check(self, p: int, clamp: np.ndarray) -> None:
        """Both solvers on the step's free and clamped states; the worst terminal voltage."""
        ref, tw = self.reference, self.twins
        ref.set_gates(self.g)
        ref.set_inputs(self.data.inputs[p])
        ref.op(f"datapoint {p} (free, check)")
        worst = float(np.abs(ref.free_outputs() - tw.free_outputs()).max())
        worst = max(worst, float(np.abs(ref.device_dv("F") - tw.device_dv("F")).max()))
        ref.set_clamp(clamp)
        ref.op(f"datapoint {p} (clamped, check)")
        worst = max(worst, float(np.abs(ref.device_dv("C") - tw.device_dv("C")).max()))
        p_ref, p_tw = ref.source_power(), tw.source_power()  # the energy figures use it
        rel = abs(p_tw - p_ref) / max(abs(p_ref), 1e-30)
        self.worst_power_rel = max(self.worst_power_rel, rel)
        self.checks += 1
        self.worst_check_v = max(self.worst_check_v, worst)

    def _free(self, p: int) -> np.ndarray:
        tw = self.twins
        tw.set_gates(self.g)
        tw.set_inputs(self.data.inputs[p])
        tw.op(f"datapoint {p} (free, post-layout)")
        return tw.free_outputs()

    def _substep(self, p: int, gain: float) -> None:
        tw = self.twins
        out = self._free(p)
        dvf = tw.device_dv("F")
        clamp = self.clamp_targets(out, float(self.data.labels[p]))
        tw.set_clamp(clamp)
        tw.op(f"datapoint {p} (clamped, post-layout)")
        dvc = tw.device_dv("C")
        if self.reference is not None and self.n_updates % self.check_every == 0:
            self._check(p, clamp)
        g = np.clip(self.g + gain * (dvf * dvf - dvc * dvc), self.tr.g_min, self.tr.g_max)
        self.charge_up_v += float(np.maximum(g - self.g, 0.0).sum())
        self.n_updates += 1
        self.g = g

    def clamped_power(self) -> float:
        """Mean over datapoints of the power both twins draw with the clamp on (W)."""
        tw, total = self.twins, 0.0
        for p in range(len(self.data.labels)):
            out = self._free(p)
            tw.set_clamp(self.clamp_targets(out, float(self.data.labels[p])))
            tw.op(f"datapoint {p} (clamped, post-layout)")
            total += tw.source_power()
        return total / len(self.data.labels)

    def outputs_for(self, inputs: np.ndarray) -> np.ndarray:
        """Free outputs of the extracted network at the present G for other inputs."""
        tw, outs = self.twins, []
        tw.set_gates(self.g)
        for p, x in enumerate(inputs):
            tw.set_inputs(x)
            tw.op(f"held-out datapoint {p} (free, post-layout)")
            o = tw.free_outputs()
            outs.append(o[0] - o[1] if self.net.differential else o[0])
        return np.array(outs)

    def evaluate(self) -> np.ndarray:
        outs = []
        for p in range(len(self.data.labels)):
            o = self._free(p)
            outs.append(o[0] - o[1] if self.net.differential else o[0])
        return np.array(outs)
