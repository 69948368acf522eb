"""The flow's stages on one design, each a :class:`Stage` run through :meth:`Run.execute`.

Plain ``twin_edge``: layout -> DRC -> LVS -> PEX -> training (schematic, post-layout) ->
energy -> report. ``twin_edge_cl``: layout -> DRC -> LVS -> characterisation -> trim ->
post-layout cell -> training (schematic rule, extracted cell's rule) -> report.
Functions here return results and tell the user through ``run.say``; errors are
:class:`StageError` (the CLI prints them and exits with their code).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from twinedge.stages.base import Run, Stage, StageError
from twinedge.stages.keys import file_sha256

LAYOUT = Stage("layout", "layout", ("{design}.gds", "area.json"), ("twinedge.stages.layout",))
DRC = Stage("drc", "drc", ("drc.json",), ("twinedge.verify.drc",), ("klayout",))
LVS = Stage("lvs", "lvs", ("lvs.json",), ("twinedge.verify.lvs",), ("klayout.db",))
PEX = Stage("pex", "pex", ("pex.json",), ("twinedge.verify.pex",), ("klayout-pex", "klayout.db"))
TRAIN = Stage(
    "train (schematic)", "train", ("train.json",), ("twinedge.learn.train",), ("ngspice",)
)
POST_LAYOUT = Stage(
    "train (post-layout)", "post_layout", ("train.json",), ("twinedge.stages.post_layout",),
    ("ngspice",),
)  # fmt: skip
ENERGY = Stage("energy", "energy", ("energy.json",), ("twinedge.stages.post_layout",), ("ngspice",))
CHARACTERISE = Stage(
    "characterise", "characterise", ("summary.json",),
    ("twinedge.learn.train", "twinedge.reports.characterisation"), ("ngspice",),
)  # fmt: skip
TRIM = Stage(
    "trim", "trim", ("trim.json",), ("twinedge.characterise.trim",), ("klayout-pex", "ngspice")
)
POST_LAYOUT_CELL = Stage(
    "post-layout cell", "post_layout_cell", ("post_layout.json",),
    ("twinedge.characterise.post_layout_cell", "twinedge.learn.train"), ("klayout-pex", "ngspice"),
)  # fmt: skip
CL_POST_LAYOUT = Stage(
    "train (post-layout cell rule)", "post_layout", ("train.json",),
    ("twinedge.characterise.post_layout_cell", "twinedge.learn.train"), ("ngspice",),
)  # fmt: skip
PIN_PLAN = Stage("pin plan", "chip", ("pin_plan.json", "pin_plan.md"), ("twinedge.spec.pinplan",))
ERROR_ELEMENT = Stage(
    "error element", "error_element", ("error_element.json",),
    ("twinedge.characterise.error_element",), ("ngspice",),
)  # fmt: skip
PERIPHERY = Stage(
    "periphery", "periphery", ("bias.json", "sequencer.json", "readout.json"),
    ("twinedge.characterise.bias", "twinedge.characterise.sequencer", "twinedge.circuits.bias",
     "twinedge.circuits.sequencer", "twinedge.characterise.readout", "twinedge.circuits.readout",
     "twinedge.circuits.logic"), ("ngspice",),
)  # fmt: skip
ON_CHIP = Stage(
    "on-chip blocks", "on_chip", ("reset.json", "on_chip.json", "slope_readout.json"),
    ("twinedge.characterise.chip", "twinedge.characterise.on_chip",
     "twinedge.characterise.slope_readout", "twinedge.circuits.slope_readout",
     "twinedge.learn.rail_loads"), ("ngspice",),
)  # fmt: skip
CHIP_TRANSIENT = Stage(
    "chip transient", "chip_transient", ("chip_transient.json",),
    ("twinedge.characterise.chip", "twinedge.circuits.chip"), ("ngspice",),
)  # fmt: skip
TILE_PEX = Stage(
    "tile extraction", "tile_pex", ("tile.pex.spice", "tile_pex.json"),
    ("twinedge.characterise.chip_post_layout", "twinedge.verify.pex",
     "twinedge.verify.pex_lvsdb"), ("klayout-pex",),
)  # fmt: skip
CHIP_POST_LAYOUT = Stage(
    "chip post-layout", "chip_post_layout", ("chip_post_layout.json",),
    ("twinedge.characterise.chip_post_layout", "twinedge.characterise.chip"), ("ngspice",),
)  # fmt: skip
CHIP_LAYOUT = Stage(
    "chip layout", "chip_layout", ("{design}_chip.gds", "chip_layout.json"),
    ("twinedge.cells.chip", "twinedge.cells.periphery", "twinedge.cells.array",
     "twinedge.circuits.chip", "twinedge.verify.lvs", "twinedge.verify.drc"), ("klayout",),
)  # fmt: skip
TAPEOUT = Stage(
    "tapeout", "tapeout", ("tapeout.json", "tile.png"),
    ("twinedge.cells.tapeout", "twinedge.cells.tile", "twinedge.cells.chip",
     "twinedge.cells.periphery", "twinedge.cells.array", "twinedge.verify.precheck",
     "twinedge.verify.tile_wiring", "twinedge.reports.tt_info", "twinedge.pdk.tinytapeout",
     "twinedge.verify.drc"), ("klayout",),
)  # fmt: skip
REPORT = Stage(
    "report", ".", ("report.json", "report.html"),
    # the verdicts (tapeout_ready) are this module's: a change to them re-makes the report
    ("twinedge.reports.report", "twinedge.reports.cl_report", "twinedge.stages.flow",
     "twinedge.characterise.chip_board"),
)  # fmt: skip

SEED_EDGES_PER_MM2 = 1e7 / 10.0  # the seed's projection: ~1e7 edges in ~10 mm2 at 180 nm


def _design_input(run: Run) -> dict:
    return run.design.model_dump(mode="json")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())


# ------------------------------------------------------------------ the chip
def pin_plan(run: Run) -> dict | None:
    """The chip's pin plan (build/<design>/chip/pin_plan.json and .md), when the spec has a
    ``chip`` section: which TinyTapeout pin carries which signal."""
    from twinedge.artifacts import staged_outputs
    from twinedge.spec.pinplan import plan

    if run.design.chip is None:
        return None

    def make(folder: Path) -> dict:
        ds = run.spec.dataset
        pp = plan(run.design, ds.inputs, ds.labels, str(run.spec.path))
        with staged_outputs(folder) as tmp:
            (tmp / "pin_plan.json").write_text(json.dumps(pp.as_dict(), indent=1))
            (tmp / "pin_plan.md").write_text(pp.markdown())
        return pp.as_dict()

    res, _ = run.execute(
        PIN_PLAN, {"design": _design_input(run), "dataset": run.spec.dataset.inputs.tolist()},
        make, lambda f: _read_json(f / "pin_plan.json"),
    )  # fmt: skip
    analog = [p for p in res["pins"] if p["pin"].startswith("ua[")]
    run.say(
        f"pin plan: {len(analog)} analog pins ("
        + ", ".join(f"{p['pin']} {p['signal']}" for p in analog)
        + f"), {sum(p['kind'] == 'digital in' for p in res['pins'])} digital inputs; "
        f"{run.folder(PIN_PLAN)}/pin_plan.md"
    )
    return res


def error_element(run: Run) -> dict | None:
    """The chip's error element characterised for this design (k, labels, the spec's knobs;
    build/<design>/error_element/), when the spec has a ``chip`` section."""
    from twinedge.characterise.error_element import cached_error_element, conditions_for
    from twinedge.characterise.mirror import CharacterisationError

    if run.design.chip is None:
        return None
    cond = conditions_for(run.design, run.spec.dataset.labels)

    def make(folder: Path) -> dict:
        from twinedge.artifacts import staged_outputs

        try:
            with run.step("error element (ngspice)", 1) as tick:
                res = cached_error_element(run.design.pdk, cond).as_dict()
                tick(1)
        except CharacterisationError as exc:
            raise StageError(f"{run.spec.path}: error element: {exc}") from None
        with staged_outputs(folder) as tmp:
            (tmp / "error_element.json").write_text(json.dumps(res, indent=1))
        return res

    inputs = {"design": _design_input(run), "conditions": repr(cond)}
    res, _ = run.execute(
        ERROR_ELEMENT, inputs, make, lambda f: _read_json(f / "error_element.json")
    )
    run.say(
        f"error element: k {res['k_realised']:+.3f}, gain {res['gain']:.3f}, offsets "
        f"{1e3 * res['offset_common_v']:+.2f} mV common (sigma "
        f"{1e3 * res['mc_offset_common_sigma_v']:.2f}), {1e3 * res['offset_flip_v']:+.3f} mV "
        f"sign-flipping (sigma {1e3 * res['mc_offset_flip_sigma_v']:.2f}), settles in "
        f"{1e9 * res['settle_s']:.0f} ns, {1e6 * res['power_w']:.1f} uW per amplifier; "
        f"{run.folder(ERROR_ELEMENT)}"
    )
    return res


def periphery(run: Run) -> dict | None:
    """The bias generator sized to this design's biases and characterised (corners, Monte
    Carlo), the phase sequencer over the corners, and the read-out (what READ shows for a G
    or an output; build/<design>/periphery/)."""
    from twinedge.characterise.bias import characterise_bias
    from twinedge.characterise.chip import bias_targets
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.characterise.readout import ReadoutConditions, characterise_readout
    from twinedge.characterise.sequencer import SequencerConditions, characterise_sequencer
    from twinedge.pdk import get as get_pdk

    if run.design.chip is None:
        return None
    targets = bias_targets(run.spec)

    def make(folder: Path) -> dict:
        from twinedge.artifacts import staged_outputs

        pdk = get_pdk(run.design.pdk)
        try:
            with run.step("bias generator, sequencer and read-out (ngspice)", 3) as tick:
                bias = characterise_bias(pdk, targets).as_dict()
                tick(1)
                cond = SequencerConditions(vcalb=targets.vcalb)
                seq = [c.as_dict() for c in characterise_sequencer(pdk, cond)]
                tick(1)
                rc = characterise_readout(pdk, readout_conditions)
                read = {**rc.as_dict(), "summary": rc.summary()}
                tick(1)
        except (CharacterisationError, ValueError) as exc:
            raise StageError(f"{run.spec.path}: periphery: {exc}") from None
        with staged_outputs(folder) as tmp:
            (tmp / "bias.json").write_text(json.dumps(bias, indent=1))
            (tmp / "sequencer.json").write_text(json.dumps(seq, indent=1))
            (tmp / "readout.json").write_text(json.dumps(read, indent=1))
        return {"bias": bias, "sequencer": seq, "readout": read}

    def load(f: Path) -> dict:
        return {n: _read_json(f / f"{n}.json") for n in ("bias", "sequencer", "readout")}

    net = run.design.network
    readout_conditions = ReadoutConditions(
        net.rows, net.cols, vbp=targets.vbp, vcn=targets.vcn, c_gate=run.design.cell.c_gate_f
    )
    key = {"targets": targets.as_dict(), "readout": asdict(readout_conditions)}
    res, _ = run.execute(PERIPHERY, key, make, load)
    b = res["bias"]
    worst = max(abs(v) for v in b["error_v"].values())
    gaps = min(min(c["gap_cal_learn_s"], c["gap_learn_cal_s"]) for c in res["sequencer"])
    run.say(
        f"periphery: biases within {1e3 * worst:.2f} mV of their targets, Monte Carlo sigma up "
        f"to {1e3 * max(b['mc_sigma_v'].values()):.1f} mV, {1e6 * b['power_w']:.1f} uW; "
        f"sequencer's non-overlap >= {1e9 * gaps:.2f} ns over {len(res['sequencer'])} corners; "
        f"read-out resolves G from {max(res['readout']['g_min_readable_v'].values()):.2f} V; "
        f"{run.folder(PERIPHERY)}"
    )
    return res


def on_chip_blocks(run: Run) -> dict:
    """What a chip on a tile without analog pins makes for itself (build/<design>/on_chip/):
    its reset (the discharge phase over the corners, then the VRESET its ladder taps), its
    ladder, rail buffers (sized to the trained network's rail currents), regulator and
    digital read-out, and the read-out over the corners. Empty for a chip whose rails are
    pins."""
    from twinedge.characterise.chip import bias_targets, plan_reset
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.characterise.on_chip import size_on_chip
    from twinedge.characterise.slope_readout import SlopeConditions, characterise_slope_readout
    from twinedge.circuits.slope_readout import SlopeReadoutSizing
    from twinedge.pdk import get as get_pdk
    from twinedge.pdk.tinytapeout import SHUTTLE
    from twinedge.spec.pinplan import plan

    ds = run.spec.dataset
    if run.design.chip is None:
        return {}
    pp = plan(run.design, ds.inputs, ds.labels, str(run.spec.path))
    if not pp.rails_on_chip:
        return {}
    targets = bias_targets(run.spec)
    names = ("reset", "on_chip", "slope_readout")

    def make(folder: Path) -> dict:
        from twinedge.artifacts import staged_outputs

        pdk = get_pdk(run.design.pdk)
        try:
            with run.step("reset, on-chip rails, supply and read-out (ngspice)", 3) as tick:
                reset = plan_reset(run.spec, targets)
                tick(1)
                oc = size_on_chip(run.spec, pp, reset.vreset)
                tick(1)
                taps = dict(oc.taps)
                cond = SlopeConditions(
                    vdd=SHUTTLE[pdk.install_name].vdpwr, vlo=taps[oc.refs["slope_lo"]],
                    vhi=taps[oc.refs["slope_hi"]], sizing=SlopeReadoutSizing(*oc.slope),
                )  # fmt: skip
                slope = characterise_slope_readout(pdk, cond).as_dict()
                tick(1)
        except (CharacterisationError, ValueError) as exc:
            raise StageError(f"{run.spec.path}: on-chip blocks: {exc}") from None
        out = {"reset": reset.as_dict(), "on_chip": oc.as_dict(), "slope_readout": slope}
        with staged_outputs(folder) as tmp:
            for name in names:
                (tmp / f"{name}.json").write_text(json.dumps(out[name], indent=1))
        return out

    key = {"targets": targets.as_dict(), "design": _design_input(run),
           "inputs": ds.inputs.tolist(), "labels": ds.labels.tolist()}  # fmt: skip
    res, _ = run.execute(
        ON_CHIP, key, make, lambda f: {n: _read_json(f / f"{n}.json") for n in names}
    )
    r, sl = res["reset"], res["slope_readout"]
    errors = sl["corner_max_error_v"]
    run.say(
        f"on-chip blocks: {len(res['on_chip']['taps'])} ladder taps, "
        f"{len(res['on_chip']['buffers'])} rail buffers; reset: discharge "
        f"{1e6 * r['t_discharge']:.1f} us (slowest corner), VRESET {r['vreset']:g} V; digital "
        f"read-out within {1e3 * max(errors.values()):.1f} mV after calibration over "
        f"{len(errors)} corners; {run.folder(ON_CHIP)}"
    )
    return res


def _wiring(run: Run, periphery_res: dict):
    """The chip's wiring with the periphery stage's bias generator (and, on a tile without
    analog pins, its own blocks)."""
    from twinedge.characterise.chip import wiring
    from twinedge.circuits.chip import OnChipBlocks
    from twinedge.spec.pinplan import plan

    ds = run.spec.dataset
    pp = plan(run.design, ds.inputs, ds.labels, str(run.spec.path))
    oc = periphery_res.get("on_chip")
    oc = None if oc is None else OnChipBlocks.from_dict(oc)
    return pp, wiring(run.spec, pp, _bias_strings(periphery_res), oc)


def _bias_strings(periphery_res: dict) -> tuple:
    """The bias generator as the periphery stage sized it."""
    from twinedge.characterise.bias import BiasCharacterisation

    return BiasCharacterisation(**periphery_res["bias"]).sized()


def chip_transient(run: Run, periphery_res: dict, trained_g: list[float] | None) -> dict | None:
    """The whole chip at transistor level, with the periphery stage's bias generator, driven
    through its pins for ``chip.transient_steps`` learning steps against the behavioural
    model, and its energy per inference at ``trained_g`` (build/<design>/chip_transient/)."""
    from twinedge.characterise.chip import ResetPlan, run_chip
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.circuits.chip import OnChipBlocks

    chip = run.design.chip
    if chip is None or chip.transient_steps == 0:
        return None
    own = {}  # a chip's own blocks: its reset as the periphery stage planned it for them
    if "on_chip" in periphery_res:
        own = {"reset": ResetPlan(**periphery_res["reset"]),
               "on_chip": OnChipBlocks.from_dict(periphery_res["on_chip"])}  # fmt: skip

    def make(folder: Path) -> dict:
        from twinedge.artifacts import staged_outputs

        try:
            with run.step(f"whole chip, {chip.transient_steps} steps (ngspice)", 1) as tick:
                res = run_chip(run.spec, chip.transient_steps, trained_g=trained_g,
                               strings=_bias_strings(periphery_res), **own)  # fmt: skip
                tick(1)
        except (CharacterisationError, ValueError) as exc:
            raise StageError(f"{run.spec.path}: chip transient: {exc}") from None
        out = res.as_dict()
        with staged_outputs(folder) as tmp:
            (tmp / "chip_transient.json").write_text(json.dumps(out, indent=1))
        return out

    inputs = {"design": _design_input(run), "dataset": run.spec.dataset.inputs.tolist(),
              "trained_g": trained_g, "strings": periphery_res["bias"]["strings"]}  # fmt: skip
    if own:
        inputs |= {"on_chip": periphery_res["on_chip"], "reset": periphery_res["reset"]}
    res, _ = run.execute(
        CHIP_TRANSIENT, inputs, make, lambda f: _read_json(f / "chip_transient.json")
    )
    s = res["summary"]
    e = s["energy_per_step_j"]
    inf = res.get("inference") or {}
    run.say(
        f"chip transient: {s['steps']} steps in {s['sim_wall_s']:.0f} s; per step the model's "
        f"dG from the chip's G is within {100 * s['step_error_rel_total']:.0f} % rms "
        f"(correlation >= {s['step_correlation_min']:.3f}); energy per step "
        f"{1e9 * sum(e.values()):.2f} nJ, per inference "
        f"{1e12 * inf.get('energy_per_inference_total_j', float('nan')):.1f} pJ; "
        f"{run.folder(CHIP_TRANSIENT)}"
    )
    return res


def tile_extraction(run: Run, periphery_res: dict, tile: dict) -> dict:
    """kpex (2.5D, CC) on the TinyTapeout tile's GDS, each gate named ``g<e>``
    (build/<design>/tile_pex/: the netlist and its counts). A stage of its own: it takes
    minutes, and the simulation after it is the part that changes."""
    from twinedge.characterise import chip_post_layout as cpl
    from twinedge.pdk import activate
    from twinedge.verify.pex import ExtractionError

    d = run.design
    pdk = activate(d.pdk)
    gds = run.folder(TAPEOUT) / f"{tile['top']}.gds"

    def make(folder: Path) -> dict:
        from twinedge.artifacts import staged_outputs

        _pp, w = _wiring(run, periphery_res)
        with staged_outputs(folder) as tmp:
            try:
                with run.step("whole tile: kpex (2.5D, CC)", 1) as tick:
                    ext = cpl.extract_tile(gds, tmp, pdk, cpl.gate_names(d, w))
                    tick(1)
            except (ExtractionError, ValueError) as exc:
                raise StageError(f"{run.spec.path}: tile extraction: {exc}") from None
            out = {**ext.as_dict(), "netlist": cpl.NETLIST}
            (tmp / "tile_pex.json").write_text(json.dumps(out, indent=1))
        return out

    inputs = {"design": _design_input(run), "tile": file_sha256(gds),
              "strings": periphery_res["bias"]["strings"]}  # fmt: skip
    res, _ = run.execute(TILE_PEX, inputs, make, lambda f: _read_json(f / "tile_pex.json"))
    run.say(
        f"tile extraction: {res['nodes']} nets, {res['capacitors']} capacitors, "
        f"{res['devices']} devices ({res['tool']}, {res['seconds']:.0f} s); {run.folder(TILE_PEX)}"
    )
    return res


def chip_post_layout(
    run: Run, periphery_res: dict, tile: dict | None, schematic: dict | None
) -> dict | None:
    """The TinyTapeout tile as laid out (:func:`tile_extraction`), driven through its pins
    for the first ``chip.post_layout_steps`` steps of the chip transient ``schematic``: from
    the G its reset reached (the reset itself is the schematic's: its ~30 us would cost
    the extracted deck more than the steps do), the same datapoints; G after each step and
    the energy per step from VDPWR against the schematic's (build/<design>/chip_post_layout/)."""
    chip = run.design.chip
    if chip is None or chip.post_layout_steps == 0 or schematic is None:
        return None
    if tile is None or not tile.get("tile"):
        return None
    from twinedge.cells.tapeout import supply_net, tile_nets
    from twinedge.characterise import chip_post_layout as cpl
    from twinedge.characterise.chip import Reset, simulate
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.pdk import activate

    ext = tile_extraction(run, periphery_res, tile)
    d = run.design
    pdk = activate(d.pdk)
    n = chip.post_layout_steps
    netlist = run.folder(TILE_PEX) / ext["netlist"]

    def make(folder: Path) -> dict:
        from twinedge.artifacts import staged_outputs

        pp, w = _wiring(run, periphery_res)
        pins = tile_nets(tile["wires"], tile["tied_to_vgnd"], supply_net(pp))
        order = schematic["datapoints"][:n]
        with staged_outputs(folder) as tmp:
            try:
                body = cpl.chip_body(netlist.read_text(), pins, pdk)
                with run.step(f"tile as laid out, {n} steps (ngspice)", 1) as tick:
                    start = Reset.none(schematic["g0"], schematic["vreset_v"])
                    sim = simulate(run.spec, w, pp, order, start, body)
                    tick(1)
            except (CharacterisationError, ValueError) as exc:
                raise StageError(f"{run.spec.path}: chip post-layout: {exc}") from None
            # the schematic's VDD over the same steps (each step's own energy)
            schematic_each = schematic["vdd_energy_each_step_j"][:n]
            out = {
                "steps": n,
                "extraction": ext,
                "datapoints": order,
                "g0": sim.g0,
                "g_layout": sim.g,
                "g_schematic": schematic["g_transistor"][:n],
                "agreement": cpl.compare(schematic, sim.g0, sim.g),
                "energy_per_step_j": sim.energy_per_step_j,
                "energy_per_step_vdd_j": {
                    "layout": sim.energy_per_step_j[supply_net(pp)],
                    "schematic": sum(schematic_each) / len(schematic_each),
                },
                "vdd_energy_each_step_j": {
                    "layout": sim.vdd_energy_each_step_j,
                    "schematic": schematic_each,
                },
                "read_v": sim.read_v,
                "sim_wall_s": sim.wall_s,
            }
            (tmp / "chip_post_layout.json").write_text(json.dumps(out, indent=1))
        return out

    inputs = {"design": _design_input(run), "netlist": file_sha256(netlist),
              "pins": tile["wires"], "g0": schematic["g0"],
              "datapoints": schematic["datapoints"][:n], "vreset": schematic["vreset_v"],
              "strings": periphery_res["bias"]["strings"]}  # fmt: skip
    res, _ = run.execute(
        CHIP_POST_LAYOUT, inputs, make, lambda f: _read_json(f / "chip_post_layout.json")
    )
    a, e = res["agreement"], res["energy_per_step_vdd_j"]
    run.say(
        f"chip post-layout: {n} steps of the extracted tile in {res['sim_wall_s']:.0f} s; G "
        f"within {1e3 * a['g_max_abs_diff_v']:.1f} mV of the schematic's; per step from VDPWR "
        f"{1e9 * e['layout']:.2f} nJ (schematic {1e9 * e['schematic']:.2f} nJ); "
        f"{run.folder(CHIP_POST_LAYOUT)}"
    )
    return res


def _chip_inputs(run: Run, periphery_res: dict, pdk) -> dict:
    """What the chip's layout (and the tile around it) derives from."""
    from twinedge.verify.drc import deck_fingerprint

    return {
        "design": _design_input(run),
        "strings": periphery_res["bias"]["strings"],
        "decks": deck_fingerprint(pdk),
        "dataset": run.spec.dataset.inputs.tolist(),
        **({"on_chip": periphery_res["on_chip"]} if "on_chip" in periphery_res else {}),
    }


def chip_layout(run: Run, periphery_res: dict) -> dict | None:
    """The chip's top cell (array + periphery, routed; build/<design>/chip_layout/), its DRC
    (every deck the array gets) and its LVS against the chip netlist."""
    if run.design.chip is None:
        return None
    from twinedge.cells.chip import chip_top
    from twinedge.cells.gds import write_gds
    from twinedge.circuits.bias import fields as string_fields
    from twinedge.pdk import get
    from twinedge.verify import drc_backend
    from twinedge.verify.drc import DrcError
    from twinedge.verify.lvs import run_chip_lvs

    d = run.design
    pdk = get(d.pdk)

    def make(folder: Path) -> dict:
        _pp, w = _wiring(run, periphery_res)
        top = chip_top(d, w, tuple(string_fields(b) for b in w.bias_strings))
        gds = write_gds(top, folder / f"{d.name}_chip.gds")
        try:
            drc_rec = drc_backend(pdk).run(gds, folder / "drc").as_dict()
        except DrcError as exc:
            raise StageError(f"chip DRC: {exc}") from None
        lvs_rec = run_chip_lvs(d, w, gds, folder / "lvs").as_dict()
        box = top.dbbox()
        record = {
            "bbox_um": [round(box.width(), 3), round(box.height(), 3)],
            "area_um2": round(box.width() * box.height(), 1),
            "blocks": top.info["blocks"],
            "tracks": top.info["tracks"],
            "drc": drc_rec,
            "lvs": lvs_rec,
        }
        (folder / "chip_layout.json").write_text(json.dumps(record, indent=1))
        return record

    inputs = _chip_inputs(run, periphery_res, pdk)
    res, _ = run.execute(
        CHIP_LAYOUT, inputs, make, lambda f: _read_json(f / "chip_layout.json"),
        lambda r: "clean, match" if r["drc"]["clean"] and r["lvs"]["match"] else "failed",
    )  # fmt: skip
    drc_v = "clean" if res["drc"]["clean"] else f"{res['drc']['violations']} violations"
    lvs_v = "match" if res["lvs"]["match"] else "MISMATCH"
    run.say(
        f"chip layout: {res['bbox_um'][0]:.0f} x {res['bbox_um'][1]:.0f} um (array, "
        f"{len(res['blocks'])} periphery blocks, {res['tracks']} channel tracks); DRC {drc_v} "
        f"({len(res['drc']['decks'])} decks), LVS {lvs_v} against the chip netlist "
        f"({res['lvs']['layout_devices']} devices and edge cells); {run.folder(CHIP_LAYOUT)}"
    )
    return res


def tapeout(run: Run, periphery_res: dict) -> dict | None:
    """The chip in the smallest TinyTapeout tile that holds it, pins wired
    (:mod:`twinedge.cells.tapeout`), and the submission's files in build/<design>/tapeout/:
    the tile's GDS, LEF, Verilog stub and info.yaml; then the shuttle's precheck, the PDK's
    DRC decks and the pins' wiring to their chip nets, a row each in tapeout.json."""
    if run.design.chip is None:
        return None
    from twinedge.cells.chip import chip_top
    from twinedge.cells.gds import write_gds
    from twinedge.cells.tapeout import TapeoutError, supply_net, tapeout_tile, tile_nets
    from twinedge.cells.tile import lef, verilog_stub
    from twinedge.circuits.bias import fields as string_fields
    from twinedge.pdk import activate
    from twinedge.pdk.tinytapeout import SHUTTLE
    from twinedge.reports.tt_info import info_yaml
    from twinedge.stages.layout import render_png
    from twinedge.verify import drc_backend
    from twinedge.verify.drc import DrcError
    from twinedge.verify.precheck import Check, precheck
    from twinedge.verify.tile_wiring import pin_wiring

    d = run.design
    pdk = activate(d.pdk)
    top_name = f"tt_um_twinedge_{d.name}".replace("-", "_").replace(".", "_")

    def make(folder: Path) -> dict:
        pp, w = _wiring(run, periphery_res)
        chip = chip_top(d, w, tuple(string_fields(b) for b in w.bias_strings))
        try:
            tl = tapeout_tile(chip, pp, pdk.install_name, top_name)
        except TapeoutError as exc:
            record = {"tile": None, "passed": False, "checks": [
                {"name": "fit", "passed": False, "reason": str(exc)}]}  # fmt: skip
            (folder / "tapeout.json").write_text(json.dumps(record, indent=1))
            return record
        gds = write_gds(tl.component, folder / f"{top_name}.gds")
        render_png(gds, folder / "tile.png", pdk, 2000)
        texts = {
            f"{top_name}.lef": lef(tl.tile, top_name, list(tl.stripes)),
            f"{top_name}.v": verilog_stub(tl.tile, top_name),
            "info.yaml": info_yaml(pp, tl.tile, top_name, f"twinedge {d.name}", "twinedge",
                                   "a learning metamaterial: a twin-edge network that trains "
                                   "itself (Coupled Learning), compiled by twinedge",
                                   SHUTTLE[pdk.install_name].vapwr(tl.tile)),
        }  # fmt: skip
        for name, text in texts.items():
            (folder / name).write_text(text)
        res = precheck(gds, texts[f"{top_name}.lef"], texts[f"{top_name}.v"],
                       texts["info.yaml"], tl.tile, top_name, pdk)  # fmt: skip
        try:
            drc_rec = drc_backend(pdk).run(gds, folder / "drc").as_dict()
            res.checks.append(Check("DRC", drc_rec["violations"] == 0,
                                    f"{drc_rec['violations']} violations, "
                                    f"{len(drc_rec['decks'])} decks"))  # fmt: skip
        except DrcError as exc:
            res.checks.append(Check("DRC", False, str(exc).splitlines()[0]))
        wires = tile_nets(tl.wires, tl.tied, supply_net(pp))
        res.checks.append(pin_wiring(gds, top_name, tl.tile, wires, pdk))
        record = {
            "tile": tl.tile.name,
            "template": tl.tile.template,
            "tile_um": [tl.tile.width, tl.tile.height],
            "chip_um": [round(chip.dbbox().width(), 3), round(chip.dbbox().height(), 3)],
            "offset_um": list(tl.offset),
            "top": top_name,
            "wires": tl.wires,
            "tied_to_vgnd": list(tl.tied),
            "passed": all(c.passed for c in res.checks),
            "checks": [
                {"name": c.name, "passed": c.passed, "reason": c.reason} for c in res.checks
            ],
        }
        (folder / "tapeout.json").write_text(json.dumps(record, indent=1))
        return record

    inputs = _chip_inputs(run, periphery_res, pdk)
    res, _ = run.execute(
        TAPEOUT, inputs, make, lambda f: _read_json(f / "tapeout.json"),
        lambda r: "passed" if r["passed"] else "failed",
    )  # fmt: skip
    failed = [c["name"] for c in res["checks"] if not c["passed"]]
    verdict = "every check passes" if not failed else f"FAILED: {', '.join(failed)}"
    run.say(f"tapeout: {res['tile'] or 'no'} tile, {len(res['checks'])} checks, {verdict}; "
            f"{run.folder(TAPEOUT)}")  # fmt: skip
    return res


def chip_clamp(run: Run):
    """The clamp training uses: the characterised error element with each amplifier's
    mismatch drawn from the training seed (a chip section), else None (the ideal nudge)."""
    import numpy as np

    from twinedge.characterise.error_element import ErrorElementCharacterisation
    from twinedge.learn.clamp import ErrorElementClamp

    res = error_element(run)
    if res is None:
        return None
    ch = ErrorElementCharacterisation(**res)
    return ErrorElementClamp(ch, np.random.default_rng(run.design.training.seed))


# ------------------------------------------------------------------ layout
def layout(run: Run):
    from twinedge.stages.layout import LayoutError, load_layout, run_layout

    d = run.design
    if d.network.damage is not None:
        raise StageError(
            f"{run.spec.path}: network.damage: faults are simulated, not laid "
            "out (twinedge train or sweep it; the layout is the intact lattice)",
            2,
        )
    if d.cell.twin_mismatch is not None:
        raise StageError(
            f"{run.spec.path}: cell.twin_mismatch: simulated, not laid out (twinedge "
            "train or sweep it; the layout draws nominal devices)",
            2,
        )
    if getattr(d.cell, "g_leak", None) is not None:
        raise StageError(
            f"{run.spec.path}: cell.g_leak: simulated, not laid out (twinedge train or "
            "sweep it; the layout draws the cell, not an assumed leak)",
            2,
        )

    def make(folder: Path):
        try:
            res = run_layout(d, folder)
        except LayoutError as exc:
            raise StageError(f"{run.spec.path}: pdk: {exc}", 2) from None
        a = res.area
        run.say(
            f"layout: {res.gds} ({a.bbox_um[0]:.2f} x {a.bbox_um[1]:.2f} um, "
            f"{res.seconds:.2f} s); render {res.png}"
        )
        run.say(
            f"  twin-edge cell {a.cell_um2:.2f} um^2, lattice site {a.site_um2:.2f} um^2 "
            f"(2 edges), array {a.array_um2:.1f} um^2 for {a.edges} edges"
        )
        run.say(
            f"  {a.edges_per_mm2:,.0f} edges/mm^2 (seed's 180 nm projection: "
            f"{SEED_EDGES_PER_MM2:,.0f}/mm^2, {SEED_EDGES_PER_MM2 / a.edges_per_mm2:.0f}x "
            f"denser); cells cover {100 * a.active_fraction:.0f}% of the array"
        )
        return res

    res, _ = run.execute(LAYOUT, {"design": _design_input(run)}, make, lambda f: load_layout(d, f))
    return res


# ------------------------------------------------------------------ DRC and LVS
def drc(run: Run, gds: Path) -> dict:
    from twinedge.pdk import get
    from twinedge.verify import drc_backend
    from twinedge.verify.drc import DrcError, deck_fingerprint

    pdk = get(run.design.pdk)

    def make(folder: Path) -> dict:
        try:
            res = drc_backend(pdk).run(gds, folder)
        except DrcError as exc:
            raise StageError(f"DRC: {exc}") from None
        record = res.as_dict()
        (folder / "drc.json").write_text(json.dumps(record, indent=1))
        return record

    record, ran = run.execute(
        DRC,
        {"gds": gds, "decks": deck_fingerprint(pdk)},
        make,
        lambda f: _read_json(f / "drc.json"),
        lambda r: "clean" if r["violations"] == 0 else f"{r['violations']} violations",
    )
    if ran:
        for deck in record["decks"]:
            verdict = "clean" if deck["violations"] == 0 else f"{deck['violations']} violations"
            run.say(
                f"drc: {verdict} ({deck['name']}, {deck['kind']}, {deck['rules_in_deck']} "
                f"rules, {deck['seconds']:.1f} s); report {deck['report']}"
            )
            for rule, n in deck["by_rule"].items():
                run.say(f"  {rule}: {n}")
    return record


def lvs(run: Run, gds: Path) -> dict:
    from twinedge.verify import lvs_backend

    def make(folder: Path) -> dict:
        record = lvs_backend().run(run.design, gds, folder).as_dict()
        (folder / "lvs.json").write_text(json.dumps(record, indent=1))
        return record

    record, ran = run.execute(
        LVS,
        {"gds": gds, "design": _design_input(run)},
        make,
        lambda f: _read_json(f / "lvs.json"),
        lambda r: "match" if r["match"] else "mismatch",
    )
    if ran:
        run.say(
            f"lvs: {'match' if record['match'] else 'MISMATCH'} (layout "
            f"{record['layout_devices']} devices / {record['layout_nets']} nets, reference "
            f"{record['reference_devices']} / {record['reference_nets']}); netlists in "
            f"{run.folder(LVS)}"
        )
        for line in record["mismatches"][:10]:
            run.say(f"  {line}")
    return record


# ------------------------------------------------------------------ extraction and training
def require_post_layout(run: Run) -> None:
    """Bad input for post-layout stages (exit 2) before any stage runs."""
    from twinedge.stages.post_layout import PostLayoutError, check_post_layout_model

    try:
        check_post_layout_model(run.spec)
    except PostLayoutError as exc:
        raise StageError(str(exc), 2) from None


def extraction(run: Run, gds: Path):
    from twinedge.verify import pex_backend
    from twinedge.verify.pex import ExtractionError, load_extraction

    def make(folder: Path):
        try:
            ext = pex_backend().run(run.design, gds, folder)
        except ExtractionError as exc:
            raise StageError(f"{run.spec.path}: extraction: {exc}") from None
        run.say(
            f"pex: {ext.tool}: {ext.n_resistors} R, {ext.n_capacitors} C in {ext.seconds:.1f} s; "
            f"lattice nets {min(ext.node_c_f.values()) * 1e15:.2f}-"
            f"{max(ext.node_c_f.values()) * 1e15:.2f} fF, routes up to "
            f"{max(ext.route_r_ohm.values()):.0f} ohm; {ext.netlist}"
        )
        return ext

    ext, _ = run.execute(PEX, {"gds": gds, "design": _design_input(run)}, make, load_extraction)
    return ext


def netlist_content(path: Path) -> str:
    """The extracted netlist without the lines that change from run to run (kpex's date and
    banner comments): what post-layout stages are keyed on."""
    return "\n".join(ln for ln in path.read_text().splitlines() if not ln.startswith("*"))


def train(run: Run, ch=None, extra: dict | None = None, what: str = "training", out=None):
    """Train, write train.json and plots into ``out`` (default the stage folder) without
    a stage record (``twinedge train``); see :func:`schematic_training` for the stage."""
    from twinedge.learn.train import run_training, write_training
    from twinedge.sim.solver import ConvergenceError

    n = run.design.training.n_steps
    clamp = chip_clamp(run)
    if clamp is not None:  # what formed the clamped outputs, in train.json
        extra = {**(extra or {}), "clamp": "error element (characterised, mismatch drawn)"}
    try:
        with run.step(what, n) as tick:
            result = run_training(run.spec, lambda k, _n: tick(k), ch, clamp)
    except ConvergenceError as exc:
        raise StageError(f"{run.spec.path}: {what} failed: {exc}") from None
    path = write_training(run.spec, result, out or run.folder(TRAIN), extra, ch)
    return _read_json(path)


def schematic_training(run: Run, summary=None) -> dict:
    inputs: dict = {"design": _design_input(run)}
    if run.design.cell.type == "twin_edge_cl":  # the rule comes from the characterisation
        from twinedge.learn.train import circuit_conditions

        inputs["circuit"] = circuit_conditions(run.design).digest()
    if run.design.chip is not None:  # the clamp comes from the error element
        inputs["error_element"] = error_element(run)

    def make(folder: Path) -> dict:
        record = train(run, out=folder)
        if summary:
            summary(record, folder)
        return record

    record, _ = run.execute(TRAIN, inputs, make, lambda f: _read_json(f / "train.json"))
    return record


def post_layout_training(run: Run, ext) -> dict:
    from twinedge.sim.solver import ConvergenceError
    from twinedge.stages.post_layout import PostLayoutError
    from twinedge.stages.post_layout import post_layout_training as _train

    def make(folder: Path) -> dict:
        n = run.design.training.n_steps
        run.say(f"post-layout training: {n} steps on {ext.netlist.name}")
        t0 = time.perf_counter()
        stepping = False

        def progress(k: int, _n: int) -> None:
            # set-up (the netlist into ngspice, a device table swept on first use, the
            # solver compiled on first use) can take a minute cold, Ctrl-C waiting on parts
            nonlocal stepping
            if not stepping:
                stepping = True
                run.say(f"  set up and first {k} steps in {time.perf_counter() - t0:.1f} s")
            tick(k)

        try:
            with run.step("post-layout training", n) as tick:
                return _train(run.spec, ext, folder, progress)
        except PostLayoutError as exc:
            raise StageError(str(exc), 2) from None
        except ConvergenceError as exc:
            raise StageError(f"{run.spec.path}: post-layout training failed: {exc}") from None

    inputs = {"netlist": netlist_content(ext.netlist), "design": _design_input(run)}
    record, _ = run.execute(POST_LAYOUT, inputs, make, lambda f: _read_json(f / "train.json"))
    return record


def compare_training(run: Run, schematic: dict, post: dict) -> None:
    solver = post.get("post_layout", {}).get("solver", {"kind": "ngspice per operating point"})
    how = solver["kind"]
    if "worst_check_v" in solver:
        how += (f", against ngspice at {solver['checked_steps']} steps: worst "
                f"{1e6 * solver['worst_check_v']:.1f} uV")  # fmt: skip
    run.say(
        f"post-layout training ({post['run']['steps']} steps on the extracted netlist, {how}, "
        f"{post['run']['wall_s']:.0f} s): final MSE {post['final_mse']:.3e} V^2 vs schematic "
        f"{schematic['final_mse']:.3e} V^2 (same seed {post['run']['seed']})"
    )
    for label, rec in (("schematic", schematic), ("post-layout", post)):
        if "xor" in rec["metrics"]:
            x = rec["metrics"]["xor"]
            run.say(
                f"  XOR {label}: {'solved' if x['solved'] else 'NOT solved'}, "
                f"min margin {x['min_margin_frac_of_l0']:.2f} |L0|"
            )
        if "classify" in rec["metrics"]:
            c = rec["metrics"]["classify"]
            held = f", held out {c['test_accuracy']:.1%}" if "test_accuracy" in c else ""
            run.say(f"  classification {label}: training {c['train_accuracy']:.1%}{held}")


def energy(run: Run, ext, post: dict):
    from twinedge.learn.energy import EnergyReport, TransientError
    from twinedge.stages.post_layout import energy_report

    def make(folder: Path):
        try:
            return energy_report(run.spec, ext, post, folder)
        except TransientError as exc:
            raise StageError(f"{run.spec.path}: energy: {exc}") from None

    inputs = {
        "netlist": netlist_content(ext.netlist),
        "design": _design_input(run),
        "G": post["G"],
        "post_layout": post["post_layout"],
    }
    report, _ = run.execute(
        ENERGY, inputs, make, lambda f: EnergyReport(**_read_json(f / "energy.json"))
    )
    sample = (
        f", mean of {report.transitions} random transitions of {report.datapoints} datapoints "
        f"+- {report.inference_sem_j:.1e} J"
        if report.transitions < report.datapoints
        else ""
    )
    run.say(
        f"energy: {report.inference_j:.3e} J per inference ({report.per_edge_j:.3e} J/edge, "
        f"settled in {report.settling_s:.3g} s{sample}), static {report.static_w:.3e} W, "
        f"{report.learning_step_j:.3e} J per learning step"
    )
    return report


# ------------------------------------------------------------------ the reports
RESET_TOLERANCE_V = 0.01  # the chip transient's reset lands every G this near g_init


def _reset_verdict(transient: dict | None, g_init: float) -> list[str]:
    """A chip that cannot be brought to a known G cannot be trained twice: the chip
    transient resets it through its pins from G on both sides of ``g_init``."""
    if transient is None:
        return ["the chip's reset and learning through its pins were not simulated "
                "(chip.transient_steps: 0)"]  # fmt: skip
    r = transient["summary"]["reset"]
    lo, hi = r["g_mean_v"] - r["g_spread_v"] / 2, r["g_mean_v"] + r["g_spread_v"] / 2
    if max(abs(lo - g_init), abs(hi - g_init)) > RESET_TOLERANCE_V:
        return [f"G reset through the pins: G {lo:.4f} .. {hi:.4f} V, not within "
                f"{RESET_TOLERANCE_V} V of g_init {g_init} V"]  # fmt: skip
    return []


def _own_levels_verdict(transient: dict | None) -> list[str]:
    """A chip that makes its own supply and rails must hold them while it learns and
    infers: in the chip transient (after the reset) and in inference, each one (but the
    reset-only levels) back within :data:`chip_board.LEVEL_TOLERANCE_V` of its target
    :data:`chip_board.LEVEL_RECOVERY_S` after whatever moved it (its longest disturbance,
    :func:`chip_board.longest_excursions`; the peak is named beside)."""
    from twinedge.characterise import chip_board as board

    if transient is None:
        return []
    tol, limit = board.LEVEL_TOLERANCE_V, board.LEVEL_RECOVERY_S
    inf = transient.get("inference") or {}
    keys = ("own_levels_beyond_s", "own_levels_worst_v")
    runs = {"learning": tuple(transient["summary"].get(k) for k in keys),
            "inference": tuple(inf.get(k) for k in keys)}  # fmt: skip
    out = []
    for what, (beyond, worst) in runs.items():
        if beyond is None and worst:  # a record from before the times were kept: its peaks
            beyond = {n: float("inf") if v > tol else 0.0 for n, v in worst.items()}
        off = {n: s for n, s in (beyond or {}).items()
               if s > limit and n not in board.RESET_ONLY_LEVELS}  # fmt: skip
        if off:
            nets = ", ".join(f"{n} for {1e9 * s:.0f} ns (peak {1e3 * (worst or {}).get(n, 0):.0f} "
                             "mV)" for n, s in off.items())  # fmt: skip
            out.append(f"the chip's own levels in {what} stay beyond {1e3 * tol:.0f} mV of "
                       f"their targets for longer than {1e9 * limit:.0f} ns: {nets}")  # fmt: skip
    return out


def _verdicts(
    drc_rec: dict,
    lvs_rec: dict,
    chip: bool = False,
    tile: dict | None = None,
    reset: list[str] | None = None,
) -> list[str]:
    """Why the design is not tapeout-ready, plus any failed check. ``chip``: the spec has
    its periphery (a chip section); ``tile``: its tapeout record (:func:`tapeout`);
    ``reset``: :func:`_reset_verdict`'s reasons."""
    if chip:
        reasons = list(reset or [])
        if tile is None:
            reasons.append("no TinyTapeout tile built: the shuttle's precheck has not run")
        else:
            reasons += [f"tapeout {c['name']}: {c['reason']}" for c in tile["checks"]
                        if not c["passed"]]  # fmt: skip
    else:
        reasons = [
            "a plain twin_edge array is a simulation target, not a tapeout: once fabricated "
            "its gates are isolated islands that nothing can set or train (the update is an "
            "ideal behavioural rule; inputs, clamps and constants are ideal sources); "
            "twin_edge_cl with a chip section is the design that learns on chip"
        ]
    if drc_rec["violations"]:
        reasons.append(f"DRC: {drc_rec['violations']} violations")
    if not lvs_rec["match"]:
        reasons.append("LVS: mismatch")
    return reasons


def plain_report(run: Run, drc_rec, lvs_rec, ext, schematic, post, energy_rep) -> Path:
    from twinedge.pdk import get
    from twinedge.reports.report import build_report, write_report

    def make(folder: Path) -> Path:
        report = build_report(
            spec_path=run.spec.path,
            seed=run.design.training.seed,
            pdk=run.design.pdk,
            pdk_version=get(run.design.pdk).data_version,
            drc=drc_rec,
            lvs=lvs_rec,
            area=_read_json(run.folder(LAYOUT) / "area.json"),
            pex=ext.to_json(),
            schematic=schematic,
            post_layout=post,
            energy=energy_rep.as_dict(),
            manifest=run.manifest(),
            not_ready=_verdicts(drc_rec, lvs_rec),
        )
        curves = {
            "schematic (PDK-table model)": (
                [h["t"] for h in schematic["history"]],
                [h["mse"] for h in schematic["history"]],
            ),
            "post-layout (ngspice, extracted RC)": (
                [h["t"] for h in post["history"]],
                [h["mse"] for h in post["history"]],
            ),
        }
        return write_report(report, folder, curves)

    upstream = {r["stage"]: r["key"] for r in run.records}
    path, _ = run.execute(
        REPORT, {"upstream": upstream}, make, lambda f: f / "report.json", lambda _p: "written"
    )
    return path


def plain_flow(run: Run, summary=None) -> dict:
    require_post_layout(run)
    lay = layout(run)
    drc_rec = drc(run, lay.gds)
    lvs_rec = lvs(run, lay.gds)
    ext = extraction(run, lay.gds)
    schematic = schematic_training(run, summary)
    post = post_layout_training(run, ext)
    compare_training(run, schematic, post)
    energy_rep = energy(run, ext, post)
    path = plain_report(run, drc_rec, lvs_rec, ext, schematic, post, energy_rep)
    run.say(f"report: {path} and {path.with_suffix('.html')}")
    return {"drc": drc_rec, "lvs": lvs_rec}
