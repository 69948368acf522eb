"""Post-layout stages with the real tools: ngspice + SKY130 models, KLayout, klayout-pex."""

from __future__ import annotations

import shutil
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
from conftest import DESIGNS

from twinedge.learn.energy import integrate_energy, settling_time
from twinedge.pdk import sky130
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec import load_spec
from twinedge.spice.deck import node_name, pdk_schematic_netlist
from twinedge.spice.shared import shared
from twinedge.verify.pex import flat_body, run_kpex, summarize
from twinedge.verify.pex_lvsdb import build_pex_lvsdb

pytestmark = pytest.mark.skipif(
    shutil.which("ngspice") is None and not __import__("os").environ.get("CI"),
    reason="ngspice not installed",
)


@pytest.fixture(autouse=True, scope="module")
def _sky130_active() -> None:
    """Extraction without a design (the tiny layouts) reads the active PDK."""
    import twinedge.pdk

    twinedge.pdk.activate("sky130")


# ------------------------------------------------------------------ PDK-calibrated model
def test_pdk_table_matches_ngspice_on_the_schematic_network() -> None:
    """The fast solver with the tabulated nfet_01v8 vs ngspice with the BSIM4 model itself."""
    spec = load_spec(DESIGNS / "xor_4x4.yaml")
    net = Network.from_design(spec.design)
    model = edge_model(spec.design)
    trainer = CoupledLearning(net, model, spec.dataset, spec.design.training)
    ng = shared()
    lib = sky130.reduced_model_lib()
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(2):
        trainer.g = rng.uniform(0.45, 1.8, net.n_edges)  # weak to strong inversion
        for p in range(len(spec.dataset.labels)):
            masks = (trainer.free_mask, trainer.clamp_mask)
            for v, mask in zip(trainer.twin_states(p), masks, strict=True):
                held = {int(n): float(v[n]) for n in np.flatnonzero(mask)}
                ng.reset()
                ng.load(
                    pdk_schematic_netlist(net, trainer.g, held, lib, "tt", sky130.NFET, 1.0, 1.0)
                    + ".options gmin=1e-15 abstol=1e-15 reltol=1e-7 vntol=1e-9\n.end"
                )
                ng.command("op")
                for n in range(net.n_nodes):
                    worst = max(worst, abs(ng.vector(f"v({node_name(net, n)})")[0] - v[n]))
    ng.reset()
    assert worst <= 1e-3


# ------------------------------------------------------------------ extraction
def _tiny_gds(path: Path, wire_um: float) -> Path:
    """One nfet_01v8 (W 1, L 0.5 um) whose drain runs on a met1 wire ``wire_um`` long to a pin."""
    layout = kdb.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("tiny")

    def box(spec: tuple[int, int], x0: float, y0: float, x1: float, y1: float) -> None:
        top.shapes(layout.layer(*spec)).insert(kdb.DBox(x0, y0, x1, y1))

    def text(spec: tuple[int, int], name: str, x: float, y: float) -> None:
        top.shapes(layout.layer(*spec)).insert(kdb.DText(name, x, y))

    box(sky130.DIFF, 0, 0, 2.0, 1.0)  # source | gate | drain
    box(sky130.NSDM, -0.2, -0.2, 2.2, 1.2)
    box(sky130.POLY, 0.75, -0.3, 1.25, 1.0)
    box(sky130.POLY, 0.75, 1.0, 1.25, 1.9)  # to the gate contact pad
    for x in (0.2, 1.6):  # S and D contacts
        box(sky130.LICON, x, 0.4, x + 0.17, 0.57)
        box(sky130.LI, x - 0.05, 0.3, x + 0.22, 0.67)
    box(sky130.LICON, 0.915, 1.6, 1.085, 1.77)
    box(sky130.NPC, 0.8, 1.5, 1.2, 1.87)
    box(sky130.LI, 0.85, 1.55, 1.15, 1.82)
    box(sky130.MCON, 1.6, 0.4, 1.77, 0.57)
    box(sky130.MET1, 1.5, 0.3, 1.9 + wire_um, 0.7)  # the wire
    box(sky130.MET1_PIN, 1.5 + wire_um, 0.3, 1.9 + wire_um, 0.7)  # its pin at the far end
    text(sky130.LI_LABEL, "S", 0.28, 0.48)
    text(sky130.LI_LABEL, "G", 1.0, 1.68)
    text(sky130.MET1_LABEL, "D", 1.7 + wire_um, 0.5)
    layout.write(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_extractions(tmp_path_factory: pytest.TempPathFactory) -> dict[float, str]:
    out = {}
    for length in (10.0, 40.0):
        d = tmp_path_factory.mktemp(f"wire{int(length)}")
        db = build_pex_lvsdb(_tiny_gds(d / "tiny.gds", length), d / "tiny.lvsdb")
        spice, problems, _ = run_kpex(db.path, d / "kpex")
        assert not problems, problems
        out[length] = spice.read_text()
    return out


def test_extraction_of_a_wire_and_a_transistor_runs_in_ngspice(tiny_extractions: dict) -> None:
    text = tiny_extractions[10.0]
    ports, _c_total, route_r, devices, n_r, n_c = summarize(text)
    assert {"S", "G", "D"} <= set(ports)
    assert len(devices) == 1 and devices[0][4] == pytest.approx(1.0)  # W from the layout
    assert n_r > 0 and n_c > 0 and route_r["D"] > 0
    ng = shared()
    ng.reset()
    ng.load(
        "\n".join(
            [
                "* extracted tiny",
                f".lib {sky130.reduced_model_lib()} tt",
                flat_body(text),
                "vd D 0 dc 0.1",
                "vs S 0 dc 0",
                "vg G 0 dc 1.2",
                ".end",
            ]
        )
    )
    ng.command("op")
    i_d = -ng.vector("i(vd)")[0]
    ng.reset()
    assert 5e-6 < i_d < 1e-4  # a W/L = 2 nfet_01v8 in triode at Vgs 1.2 V, Vds 0.1 V


def test_extracted_capacitance_grows_with_wire_length(tiny_extractions: dict) -> None:
    c_short = summarize(tiny_extractions[10.0])[1]["D"]
    c_long = summarize(tiny_extractions[40.0])[1]["D"]
    assert c_long > 2.0 * c_short > 0
    r_short = summarize(tiny_extractions[10.0])[2]["D"]
    r_long = summarize(tiny_extractions[40.0])[2]["D"]
    assert r_long > r_short


# ------------------------------------------------------------------ energy integration
def test_energy_of_an_rc_step_is_cv2() -> None:
    """A step V through R into C: the source delivers C V^2, the capacitor keeps 1/2 C V^2."""
    r, c, v = 10e3, 100e-15, 0.45
    tau = r * c
    ng = shared()
    ng.reset()
    ng.load(
        "\n".join(
            [
                "* rc step",
                f"vin in 0 pwl(0 0 {tau / 1000!r} {v!r})",
                f"r1 in out {r!r}",
                f"c1 out 0 {c!r}",
                ".options reltol=1e-6",
                ".end",
            ]
        )
    )
    ng.command(f"tran {tau / 500!r} {20 * tau!r} 0 {tau / 200!r}")
    t = ng.vector("time")
    p_source = -ng.vector("v(in)") * ng.vector("i(vin)")
    vc = ng.vector("v(out)")
    ng.reset()
    e = integrate_energy(t, p_source, 0.0, 20 * tau)
    assert e == pytest.approx(c * v * v, rel=0.01)
    assert 0.5 * c * vc[-1] ** 2 == pytest.approx(0.5 * c * v * v, rel=1e-3)
    # settling to 0.1 % of the step takes tau ln(1000)
    ts = settling_time(t, vc[None, :], 0.0, 20 * tau, 1e-3 * v)
    assert ts == pytest.approx(tau * np.log(1000), rel=0.05)


def test_a_chip_cells_reader_sits_idle_on_the_bench_not_floating() -> None:
    """The extracted cell of a chip design carries its G reader: on the post-layout bench
    its selects are tied off (VDD) and its read line low, as in the chip while another edge
    is read; a cell without a reader gets no ties."""
    from twinedge.characterise.post_layout_cell import _body
    from twinedge.pdk import activate

    activate("sky130")
    reader = (".SUBCKT cell G0 ac af bc bf cal calb cselb learn learnb read\n"
              "+ rselb sky130_gnd vdd\n"
              "X$1 n1 G0 read sky130_gnd sky130_fd_pr__nfet_01v8 l=1 w=1\n"
              "X$2 n2 rselb vdd vdd sky130_fd_pr__pfet_01v8 l=0.15 w=0.42\n"
              ".ENDS cell\n")  # fmt: skip
    body, _ = _body(reader)
    ties = [line for line in body.splitlines() if line.startswith("Vidle")]
    assert ties == ["Vidle_rselb rselb vdd 0", "Vidle_cselb cselb vdd 0", "Vidle_read read 0 0"]
    plain = reader.replace(" cselb", "").replace(" read\n", "\n").replace("+ rselb", "+")
    assert not [ln for ln in _body(plain)[0].splitlines() if ln.startswith("Vidle")]
