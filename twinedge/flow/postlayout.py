"""Post-layout training: Coupled Learning on the extracted netlist, solved by ngspice.

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

from twinedge.flow.array import pin_placements
from twinedge.flow.extraction import Extraction, flat_body
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.sim.ngspice_shared import NgspiceShared, NgspiceSharedError, shared
from twinedge.sim.solver import ConvergenceError
from twinedge.spec.loader import LoadedSpec

DC_OPTIONS = ".options gmin=1e-15 abstol=1e-15 reltol=1e-7 vntol=1e-9 itl1=500"


def _src(kind: str, name: str) -> str:
    return f"v{kind}_{name}".lower()


class ExtractedTwins:
    """The extracted netlist loaded in ngspice, with named sources on every port it drives."""

    def __init__(
        self,
        spec: LoadedSpec,
        extraction: Extraction,
        model_lib: str,
        corner: str,
        with_caps: bool = False,
        options: str = DC_OPTIONS,
    ) -> None:
        self.net = Network.from_design(spec.design)
        self.ext = extraction
        net = self.net
        pins = pin_placements(net)
        self.input_ports = list(net.input_names)
        self.const_ports = list(net.const_names)
        outs = [p for p in pins if p.twin != "FC"]
        self.free_out = [p.name for p in outs if p.twin == "F"]
        self.clamp_out = [p.name for p in outs if p.twin == "C"]
        lines = [
            f"* {spec.design.name}: extracted twins ({extraction.tool})",
            f".lib {model_lib} {corner}",
            flat_body(extraction.netlist.read_text(), with_caps=with_caps),
        ]
        for e, port in enumerate(extraction.gate_port):
            lines.append(f"{_src('g', str(e))} {port} 0 dc 0")
        for name in self.input_ports:
            lines.append(f"{_src('in', name)} {name} 0 dc 0")
        for name, volts in zip(self.const_ports, net.const_volts, strict=True):
            lines.append(f"{_src('k', name)} {name} 0 dc {float(volts)!r}")
        for name in self.clamp_out:
            lines.append(f"{_src('cl', name)} {name} 0 dc 0")
        lines.append(options)
        self.deck = "\n".join(lines) + "\n"
        self.ng: NgspiceShared = shared()
        self.ng.reset()
        self.ng.load(self.deck)
        self.twin_terms = {
            t: [(d.d.lower(), d.s.lower()) for d in extraction.twin_devices(t)] for t in "FC"
        }
        self._g: np.ndarray | None = None

    def set_gates(self, g: np.ndarray) -> None:
        for e, value in enumerate(g):
            if self._g is None or value != self._g[e]:
                self.ng.alter(_src("g", str(e)), float(value))
        self._g = g.copy()

    def set_inputs(self, x: np.ndarray) -> None:
        for name, value in zip(self.input_ports, x, strict=True):
            self.ng.alter(_src("in", name), float(value))

    def set_clamp(self, volts: np.ndarray) -> None:
        for name, value in zip(self.clamp_out, volts, strict=True):
            self.ng.alter(_src("cl", name), float(value))

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
        total = 0.0
        for kind, names in (
            ("in", self.input_ports),
            ("k", self.const_ports),
            ("cl", self.clamp_out),
        ):
            for name in names:
                total += -self.v(name) * float(self.ng.vector(f"i({_src(kind, name)})")[0])
        return total

    def device_dv(self, twin: str) -> np.ndarray:
        """Voltage across each twin transistor (drain - source), network-edge order."""
        return np.array([self.v(d) - self.v(s) for d, s in self.twin_terms[twin]])


class PostLayoutLearning(CoupledLearning):
    """Coupled Learning whose equilibria come from ngspice on the extracted netlist."""

    def __init__(self, spec: LoadedSpec, twins: ExtractedTwins) -> None:
        d = spec.design
        super().__init__(
            Network.from_design(d), edge_model(d), spec.dataset, d.training, compiled=False
        )
        self.twins = twins
        self.charge_up_v = 0.0  # sum over steps and edges of the G increases (V)
        self.n_updates = 0

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
        tw.set_clamp(self.clamp_targets(out, float(self.data.labels[p])))
        tw.op(f"datapoint {p} (clamped, post-layout)")
        dvc = tw.device_dv("C")
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

    def evaluate(self) -> np.ndarray:
        outs = []
        for p in range(len(self.data.labels)):
            o = self._free(p)
            outs.append(o[0] - o[1] if self.net.differential else o[0])
        return np.array(outs)
