"""Stages of the on-chip learning cell (``twin_edge_cl``): characterisation of its update
circuit, the corner table, the transistor-level array check, the CALB trim on one
extracted cell, the post-layout cell check, training with the extracted cell's rule, and
the CL flow that strings them together."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from twinedge.stages.base import Run, StageError
from twinedge.stages.flow import (
    CHARACTERISE,
    CL_POST_LAYOUT,
    POST_LAYOUT_CELL,
    REPORT,
    TRIM,
    _design_input,
    _own_levels_verdict,
    _read_json,
    _reset_verdict,
    _verdicts,
    chip_layout,
    chip_post_layout,
    chip_transient,
    drc,
    error_element,
    layout,
    lvs,
    on_chip_blocks,
    periphery,
    pin_plan,
    schematic_training,
    tapeout,
    train,
)


def _require_cl(run: Run) -> None:
    d = run.design
    if d.cell.type != "twin_edge_cl":
        raise StageError(
            f"{run.spec.path}: cell.type: characterisation is for the on-chip learning "
            f"cell (got {d.cell.type}; allowed: twin_edge_cl)",
            2,
        )


def _characterisation(run: Run, what: str, total: int, job):
    """``job(tick)`` under a progress bar; an ngspice failure is a one-line error."""
    from twinedge.characterise.mirror import CharacterisationError

    try:
        with run.step(what, total) as tick:
            result = job(tick)
            tick(total)
    except CharacterisationError as exc:
        raise StageError(f"{run.spec.path}: characterisation failed: {exc}") from None
    return result


def characterise(run: Run) -> dict:
    """The update circuit's characterisation (cached by its conditions), written into
    build/<design>/characterise/ as a stage."""
    from twinedge.learn.train import circuit_conditions

    _require_cl(run)
    cond = circuit_conditions(run.design)
    summary, _ = run.execute(
        CHARACTERISE,
        {"circuit": cond.digest()},
        lambda folder: _write_characterisation(run, folder),
        lambda folder: _read_json(folder / "summary.json"),
    )
    return summary


def _write_characterisation(run: Run, folder: Path) -> dict:
    from twinedge.characterise.mirror import cached_characterisation
    from twinedge.learn.train import characterisation_conditions, circuit_characterisation
    from twinedge.reports.characterisation import write_characterisation

    d = run.design
    title = f"{d.name}: on-chip learning circuit ({d.cell.update.circuit}), {d.pdk}"
    if d.cell.update.circuit == "memory":
        m = _characterisation(
            run, "characterise (whole-step transients)", 1,
            lambda _tick: circuit_characterisation(d),
        )  # fmt: skip
        path = write_characterisation(m, folder, title)
        summary = m.summary()
        run.say(
            f"characterise: R^2 {m.r2:.4f} over |dV| <= {m.range_v} V, gain "
            f"{m.gain_v_per_v2:.3g} V of G per V^2 per step (t_h {m.t_h:.3g} s, "
            f"{m.c_gate_f * 1e12:.3g} pF), offset {m.offset_mean_v2:+.2e} V^2 = "
            f"{100 * summary['offset_fraction_of_full_scale']:.2f} % of full scale (mismatch "
            f"sigma {100 * summary['offset_sigma_fraction']:.2f} %), gain sigma "
            f"{100 * m.gain_sigma_rel:.1f} %"
        )
        run.say(
            f"  pull {m.pull_v2_per_v:.2e} V^2/V towards {m.g_cal:.2f} V, G window "
            f"{m.g_window[0]:.2f}-{m.g_window[1]:.2f} V, power {m.power_w * 1e6:.3g} uW per "
            f"edge learning, {m.power_frozen_w * 1e6:.3g} uW frozen (breadboard ~100 mW), "
            f"droop {summary['droop_v_per_s_at_g'].get('1.00', float('nan')):+.3g} V/s at G "
            f"1 V; {path.parent}"
        )
        return summary
    ch = _characterisation(
        run, "characterise", 6,
        lambda tick: cached_characterisation(
            characterisation_conditions(d), lambda k, _n, _w: tick(k)
        ),
    )  # fmt: skip
    path = write_characterisation(ch, folder, title)
    summary = ch.summary()
    run.say(
        f"characterise: R^2 {ch.r2:.4f} over |dV| <= {ch.range_v} V, gain "
        f"{ch.gain_a_per_v2 * 1e6:.3g} uA/V^2 ({ch.rate:.3g} V/s per V^2 on "
        f"{ch.c_gate_f * 1e15:.0f} fF), offset {100 * ch.offset_fraction:.1f} % of full scale "
        f"(mismatch sigma {100 * summary['offset_sigma_fraction']:.1f} %), gain sigma "
        f"{100 * ch.gain_sigma_rel:.1f} %"
    )
    run.say(
        f"  power {ch.power_learning_w * 1e6:.3g} uW learning, {ch.power_frozen_w * 1e6:.3g} "
        f"uW frozen, {ch.power_gated_w * 1e9:.3g} nW bias-gated (breadboard ~100 mW); charge "
        f"injection {ch.inj_on_c * 1e15:.3g} / {ch.inj_off_c * 1e15:.3g} fC on / off; "
        f"G window {ch.g_window[0]:.2f}-{ch.g_window[1]:.2f} V; {path.parent}"
    )
    return summary


def check_corners(run: Run, corners: list[str]) -> None:
    """Bad corner names are bad input (exit 2), found before any work starts."""
    from twinedge.pdk import get

    allowed = get(run.design.pdk).corners
    bad = [c for c in corners if c not in allowed]
    if bad:
        raise StageError(f"--corners: unknown corner {bad[0]!r} (allowed: {', '.join(allowed)})", 2)


def corner_table(run: Run, corners: list[str]) -> Path:
    """The circuit at other process corners (same sizes, bias and floor calibration rule;
    the time-differenced circuit without Monte Carlo: the corner's shift of the zero-input
    residual is what its table is for)."""
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.learn.train import cached_circuit, circuit_conditions

    check_corners(run, corners)
    cond = circuit_conditions(run.design)
    memory = run.design.cell.update.circuit == "memory"
    header, row = (
        (
            "R^2     gain V/V^2  residual V^2 (G 1 V)  pull V^2/V  power uW  G window V",
            _memory_corner,
        )
        if memory
        else (
            "R^2     gain uA/V^2  offset %FS  mm sigma %FS  gain sigma %  P_learn uW  G window V",
            _mirror_corner,
        )
    )
    run.say(f"corner  {header}")
    rows: dict = {}
    for corner in corners:
        try:
            ch = cached_circuit(replace(cond, corner=corner, **({"mc_n": 0} if memory else {})))
        except CharacterisationError as exc:
            rows[corner] = {"error": str(exc)}
            run.say(f"{corner:6s}  failed: {exc}")
            continue
        rows[corner], line = row(ch)
        run.say(f"{corner:6s}  {line}")
    path = run.folder(CHARACTERISE) / "corners.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))
    run.say(f"  {path}")
    return path


def _mirror_corner(ch) -> tuple[dict, str]:
    s = ch.summary()
    return s, (
        f"{ch.r2:.4f}  {ch.gain_a_per_v2 * 1e6:11.3f}  "
        f"{100 * ch.offset_a / ch.full_scale_a:+10.1f}  "
        f"{100 * s['offset_sigma_fraction']:12.1f}  {100 * ch.gain_sigma_rel:12.1f}  "
        f"{ch.power_learning_w * 1e6:10.2f}  {ch.g_window[0]:.2f}-{ch.g_window[1]:.2f}"
    )


def _memory_corner(m) -> tuple[dict, str]:
    import numpy as np

    from twinedge.characterise.memory import G_REF

    residual = float(np.interp(G_REF, m.g_grid, m.zero_v)) / m.gain_v_per_v2
    return {**m.summary(), "residual_at_g_ref_v2": residual}, (
        f"{m.r2:.4f}  {m.gain_v_per_v2:10.3f}  {residual:+20.2e}  {m.pull_v2_per_v:10.2e}  "
        f"{m.power_w * 1e6:8.2f}  {m.g_window[0]:.2f}-{m.g_window[1]:.2f}"
    )


def array_check(run: Run) -> Path:
    """One learning step of the whole array at transistor level vs the characterised
    model (not part of the flow: ``twinedge characterise --array-check``)."""
    from twinedge.characterise.array_check import check_design

    res = check_design(run.spec)
    record = res.as_dict()
    path = run.folder(CHARACTERISE) / "array_check.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    err_v = res.dg_transistor - res.dg_model
    run.say(
        f"array check: one learning step of all {len(res.g0)} edges at transistor level "
        f"({res.wall_s:.0f} s): dG rms {1e3 * record['rms_dg_v']:.2f} mV, "
        f"model error {1e3 * err_v.mean():+.2f} +- {1e3 * err_v.std():.2f} mV, R^2 "
        f"{res.r2:.3f}; {path}"
    )
    return path


# ------------------------------------------------------------------ layout-dependent stages
def trim(run: Run, gds: Path) -> float:
    """The CALB high level of the laid-out cell: ``cell.update.calb_high``, or for ``auto``
    the level that nulls one extracted cell's zero-input residual (build/<design>/trim/)."""
    from twinedge.characterise.trim import TrimError, trim_calb
    from twinedge.verify.pex import ExtractionError

    d = run.design
    if d.cell.update.calb_high != "auto":
        return d.cell.update.calb_high
    tr = d.training

    def make(folder: Path) -> dict:
        try:
            with run.step("trim CALB high (kpex + ngspice)", 1) as tick:
                res = trim_calb(d, folder).as_dict()
                tick(1)
        except (ExtractionError, TrimError) as exc:
            raise StageError(f"{run.spec.path}: cell.update.calb_high: auto: {exc}") from None
        return res

    inputs = {
        "gds": gds,
        "design": _design_input(run),
        "vbp": d.cell.update.vbp,
        "corner": d.cell.model.corner,
        "t_h": tr.t_h / tr.substeps,
    }
    res, _ = run.execute(TRIM, inputs, make, lambda f: _read_json(f / "trim.json"))
    steps = ", ".join(f"{c:.3f} V: {r:+.1e}" for c, r in res["history"])
    run.say(
        f"trim: CALB high {res['calb_high_v']} V nulls the extracted cell's zero-input "
        f"residual ({res['residual_v2']:+.1e} V^2; {steps}); {run.folder(TRIM)}"
    )
    return res["calb_high_v"]


def post_layout_cell(run: Run, gds: Path) -> dict:
    """Extract one twin_edge_cl cell (kpex) and re-run the circuit's measurements on it."""
    from twinedge.characterise.memory import MemoryCharacterisation
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.characterise.post_layout_cell import (
        EXTRACTED_NETLIST,
        post_layout_memory_cell,
    )
    from twinedge.characterise.post_layout_cell import (
        post_layout_cell as mirror_cell,
    )
    from twinedge.learn.train import cached_circuit, circuit_conditions
    from twinedge.verify.pex import ExtractionError

    d = run.design
    cond = circuit_conditions(d)
    ch = cached_circuit(cond)
    memory = isinstance(ch, MemoryCharacterisation)
    calb = trim(run, gds) if memory else None
    # the trim's extraction of the same cell, when it ran one (calb_high: auto)
    extracted = run.folder(TRIM) if memory and d.cell.update.calb_high == "auto" else None

    def make(folder: Path) -> dict:
        try:
            with run.step("post-layout cell (kpex + ngspice)", 1) as tick:
                if memory:
                    res = post_layout_memory_cell(d, ch, folder, calb, extracted).as_dict()
                else:
                    res = mirror_cell(d, ch, folder).as_dict()
                tick(1)
        except (ExtractionError, CharacterisationError) as exc:
            raise StageError(f"{run.spec.path}: post-layout cell check failed: {exc}") from None
        return res

    inputs = {"design": _design_input(run), "circuit": cond.digest(), "calb_high": calb}
    if extracted is not None:
        inputs["extracted"] = extracted / EXTRACTED_NETLIST
    res, _ = run.execute(
        POST_LAYOUT_CELL, inputs, make, lambda f: _read_json(f / "post_layout.json")
    )
    head = f"post-layout cell ({res['tool']}, {res['resistors']} R, {res['capacitors']} C): "
    if memory:
        run.say(
            head + f"zero-input residual {res['residual_v2']:+.2e} V^2 at G {1.0} V (schematic "
            f"{res['schematic_residual_v2']:+.2e}), pull {res['pull_v2_per_v']:.2e} V^2/V "
            f"(schematic {res['schematic_pull_v2_per_v']:.2e}), gain "
            f"{res['gain_v_per_v2']:.3g} V/V^2 per step (schematic "
            f"{res['schematic_gain_v_per_v2']:.3g}), CALB high {res['calb_high_v']} V; "
            f"{run.folder(POST_LAYOUT_CELL)}"
        )
        return res
    run.say(
        head + f"zero-input pulse {res['dg_zero_pulse_v'] * 1e3:+.2f} mV (schematic "
        f"{ch.dg_zero_pulse * 1e3:+.2f}), injection {res['q_on_c'] * 1e15:+.3f} / "
        f"{res['q_off_c'] * 1e15:+.3f} fC on / off (schematic {ch.inj_on_c * 1e15:+.3f} / "
        f"{ch.inj_off_c * 1e15:+.3f}), dG/dt at half range "
        f"{res['dgdt_half_range_v_per_s']:.3g} V/s (schematic {ch.dgdt_transient:.3g}), G "
        f"{res['c_gate_f'] * 1e15:.1f} fF (schematic {ch.c_gate_f * 1e15:.1f}); "
        f"{run.folder(POST_LAYOUT_CELL)}"
    )
    return res


def cl_post_layout_training(run: Run, cell: dict, summary=None) -> dict:
    """Training with the rule the extracted cell gives (build/<design>/post_layout/)."""
    from twinedge.characterise.memory import MemoryCharacterisation
    from twinedge.characterise.post_layout_cell import with_post_layout, with_post_layout_memory
    from twinedge.learn.train import cached_circuit, circuit_conditions

    d = run.design
    cond = circuit_conditions(d)

    def make(folder: Path) -> dict:
        ch = cached_circuit(cond)
        if isinstance(ch, MemoryCharacterisation):
            ch = with_post_layout_memory(ch, cell)
        else:
            ch = with_post_layout(ch, cell)
        record = train(
            run, ch, {"post_layout_cell": cell}, "training (post-layout cell rule)", folder
        )
        run.say("post-layout cell rule:")
        if summary:
            summary(record, folder)
        return record

    inputs = {"design": _design_input(run), "circuit": cond.digest(), "cell": cell}
    if run.design.chip is not None:  # the clamp comes from the error element
        inputs["error_element"] = error_element(run)
    record, _ = run.execute(CL_POST_LAYOUT, inputs, make, lambda f: _read_json(f / "train.json"))
    return record


def cl_flow(run: Run, summary=None) -> dict:
    """twin_edge_cl: layout -> DRC -> LVS -> circuit characterisation -> post-layout cell
    check -> training with the characterised rule, and again with the extracted cell's
    switching numbers -> report (the whole array is not extracted, see the report)."""
    from twinedge.reports.cl_report import NO_PEX, build_cl_report, write_cl_report

    pin_plan(run)
    error_element(run)
    lay = layout(run)
    drc_rec = drc(run, lay.gds)
    lvs_rec = lvs(run, lay.gds)
    characterise(run)
    blocks = periphery(run)
    if blocks is not None:  # a chip that makes its own rails: what it makes
        blocks = {**blocks, **on_chip_blocks(run)}
    tile = None
    if blocks is not None:
        chip_layout(run, blocks)
        tile = tapeout(run, blocks)
    cell = post_layout_cell(run, lay.gds)
    trained = schematic_training(run, summary)
    transient = chip_transient(run, blocks, trained["G"]) if blocks is not None else None
    if blocks is not None:
        chip_post_layout(run, blocks, tile, transient)
    cl_post_layout_training(run, cell, summary)

    def make(folder: Path) -> Path:
        chip = run.design.chip is not None
        reset = None
        if chip:
            reset = _reset_verdict(transient, run.design.training.g_init)
            reset += _own_levels_verdict(transient)
        not_ready = _verdicts(drc_rec, lvs_rec, chip=chip, tile=tile, reset=reset)
        report = build_cl_report(run.spec.path, run.build, run.manifest(), not_ready)
        return write_cl_report(report, folder)

    upstream = {r["stage"]: r["key"] for r in run.records}
    path, _ = run.execute(
        REPORT, {"upstream": upstream}, make, lambda f: f / "report.json", lambda _p: "written"
    )
    run.say(f"report: {path} and {path.with_suffix('.html')}")
    run.say(f"note: {NO_PEX}")
    return {"drc": drc_rec, "lvs": lvs_rec}
