"""Report of a ``twin_edge_cl`` flow: the on-chip circuit's characterisation, training with
its rule, and the energy per learning step (``build/<design>/report.json`` and
``report.html``).

Every number is read from this build's artifacts (layout/area.json, drc/drc.json,
lvs/lvs.json, characterise/summary.json, train/train.json, and when present
characterise/array_check.json, post_layout_cell/post_layout.json, post_layout/train.json).
The array's layout is DRC/LVS-checked; its parasitics are extracted for one cell only,
which the report says.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from twinedge.artifacts import staged_outputs
from twinedge.reports.report import (
    _fmt,
    _table,
    tool_versions,
    verdict_html,
    verification_rows,
    verified,
)

NO_PEX = (
    "the whole array's parasitics are not extracted for twin_edge_cl: one laid-out cell is "
    "(kpex), the circuit's measurements re-run on it, and training repeated with those numbers "
    "in the characterised rule"
)


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _read_if_there(path: Path) -> dict | None:
    """An artifact of a stage that may not have run (array check, post-layout cell)."""
    return _read(path) if path.exists() else None


def build_cl_report(spec_path: Path, build: Path, manifest: dict, not_ready: list[str]) -> dict:
    """``not_ready``: why the design cannot be handed to a shuttle (empty: it can)."""
    circuit = _read(build / "characterise" / "summary.json")
    train = _read(build / "train" / "train.json")
    check = _read_if_there(build / "characterise" / "array_check.json")
    drc = _read(build / "drc" / "drc.json")
    lvs = _read(build / "lvs" / "lvs.json")
    area = _read(build / "layout" / "area.json")
    cell = _read_if_there(build / "post_layout_cell" / "post_layout.json")
    trim = _read_if_there(build / "trim" / "trim.json")
    post = _read_if_there(build / "post_layout" / "train.json")
    chip = _read_if_there(build / "chip_transient" / "chip_transient.json")
    bias = _read_if_there(build / "periphery" / "bias.json")
    chip_lay = _read_if_there(build / "chip_layout" / "chip_layout.json")
    tile = _read_if_there(build / "tapeout" / "tapeout.json")
    tile_post = _read_if_there(build / "chip_post_layout" / "chip_post_layout.json")
    readout = _read_if_there(build / "periphery" / "readout.json")
    slope = _read_if_there(build / "on_chip" / "slope_readout.json")
    own = _read_if_there(build / "on_chip" / "on_chip.json")
    reset = _read_if_there(build / "on_chip" / "reset.json")
    return {
        "design": train["design"],
        "tapeout_ready": not not_ready,
        "not_ready_because": not_ready,
        "verified": {
            **verified(drc, lvs, None),
            "pex": None if cell is None else {"tool": cell["tool"], "scope": "one cell"},
        },
        "verification": {
            "drc": {k: drc[k] for k in ("violations", "by_rule", "seconds")},
            "lvs": {
                k: lvs[k]
                for k in (
                    "match",
                    "layout_devices",
                    "reference_devices",
                    "layout_nets",
                    "reference_nets",
                    "mismatches",
                )
            },
        },
        "area": area,
        "post_layout_cell": cell,
        "trim": trim,
        "limitations": [NO_PEX],
        "circuit": circuit,
        "array_check": None
        if check is None
        else {k: v for k, v in check.items() if not k.startswith("dg_")},
        "training": {
            "rule": train["update"]["rule"],
            "final_mse": train["final_mse"],
            "metrics": train["metrics"],
            "steps": train["run"]["steps"],
            "learning_time_s": train["run"]["learning_time_s"],
        },
        "post_layout_training": None
        if post is None
        else {
            "rule": "on-chip, post-layout cell (kpex) switching numbers",
            "final_mse": post["final_mse"],
            "metrics": post["metrics"],
            "energy_per_step_j": post["update"].get("energy", {}).get("energy_per_step_j"),
        },
        "energy": train["update"].get("energy", {}),
        "chip": None if chip is None else _chip_summary(chip, bias),
        "readout": None if readout is None else _readout_summary(readout, chip, slope),
        "on_chip": None if own is None else _on_chip_summary(own, reset),
        "chip_layout": None
        if chip_lay is None
        else {
            "bbox_um": chip_lay["bbox_um"],
            "area_um2": chip_lay["area_um2"],
            "drc_clean": chip_lay["drc"]["clean"],
            "drc_violations": chip_lay["drc"]["violations"],
            "drc_decks": [dk["name"] for dk in chip_lay["drc"]["decks"]],
            "lvs_match": chip_lay["lvs"]["match"],
            "lvs_devices": chip_lay["lvs"]["layout_devices"],
            "source": "chip_layout/chip_layout.json",
        },
        "tapeout": None if tile is None else {**tile, "source": "tapeout/tapeout.json"},
        "chip_post_layout": None if tile_post is None else _tile_post_summary(tile_post),
        "provenance": {
            "spec": str(spec_path),
            "spec_sha256": hashlib.sha256(spec_path.read_bytes()).hexdigest(),
            "tool_versions": tool_versions(manifest),
            "manifest": "manifest.json",
        },
    }


def _tile_post_summary(p: dict) -> dict:
    """The tile as laid out against the schematic chip transient over the same steps
    (chip_post_layout/chip_post_layout.json)."""
    a, x = p["agreement"], p["extraction"]
    return {
        "steps": p["steps"],
        "extraction": {k: x[k] for k in ("nodes", "capacitors", "devices", "seconds", "tool")},
        "g0_max_abs_diff_v": a["g0_max_abs_diff_v"],
        "g_max_abs_diff_v": a["g_max_abs_diff_v"],
        "step_rms_dg_schematic_v": a["step_rms_dg_schematic_v"],
        "step_rms_dg_layout_v": a["step_rms_dg_layout_v"],
        "step_correlation_min": min(a["step_correlation"]),
        "energy_per_step_vdd_j": p["energy_per_step_vdd_j"],
        "vdd_energy_each_step_j": p["vdd_energy_each_step_j"],
        "sim_wall_s": p["sim_wall_s"],
        "source": "chip_post_layout/chip_post_layout.json",
    }


def _tile_post_rows(p: dict | None) -> list[tuple[str, str]]:
    if p is None:
        return []
    x, e = p["extraction"], p["energy_per_step_vdd_j"]
    pairs = zip(p["step_rms_dg_layout_v"], p["step_rms_dg_schematic_v"], strict=True)
    steps = ", ".join(f"{1e3 * a:.2f} / {1e3 * b:.2f}" for a, b in pairs)
    extracted = (
        f"{x['tool']}: {x['nodes']} nets, {x['capacitors']} capacitors, {x['devices']} "
        f"devices, {x['seconds']:.0f} s"
    )
    run = f"tile as laid out: {p['steps']} steps via its pins (ngspice, {p['sim_wall_s']:.0f} s)"
    agree = (
        f"G within {1e3 * p['g_max_abs_diff_v']:.2f} mV of the schematic chip's (before the "
        f"first step: {1e3 * p['g0_max_abs_diff_v']:.2f} mV)"
    )
    energy = f"{_fmt(e['layout'], 'J')} / {_fmt(e['schematic'], 'J')}"
    each = p["vdd_energy_each_step_j"]
    pairs_e = zip(each["layout"], each["schematic"], strict=True)
    by_step = ", ".join(f"{1e9 * a:.2f} / {1e9 * b:.2f}" for a, b in pairs_e)
    return [
        ("whole tile extracted", extracted),
        (run, agree),
        ("rms dG per step, layout / schematic (mV)", steps),
        ("step correlation, layout vs schematic (min)", f"{p['step_correlation_min']:.4f}"),
        ("energy per learning step from VDPWR, layout / schematic (same steps)", energy),
        ("each step's energy from VDPWR, layout / schematic (nJ)", by_step),
    ]


def _on_chip_summary(own: dict, reset: dict | None) -> dict:
    """What a chip without analog pins makes for itself (on_chip/on_chip.json): its
    ladder's taps, the rails it buffers, the reset it taps VRESET for."""
    return {
        "taps_v": dict((n, v) for n, v in own["taps"]),
        "buffered_rails": [r for r, _ in own["buffers"]],
        "reset": reset,
        "source": "on_chip/on_chip.json, on_chip/reset.json",
    }


def _on_chip_rows(o: dict | None) -> list[tuple[str, str]]:
    if o is None:
        return []
    taps = ", ".join(f"{n} {v:g} V" for n, v in o["taps_v"].items())
    rows = [("made on chip from VDPWR: the ladder's taps", taps),
            ("  rails buffered (they carry the network's current)",
             ", ".join(o["buffered_rails"]))]  # fmt: skip
    r = o.get("reset")
    if r:
        rows.append(("  the reset it taps VRESET for",
                     f"discharge {_fmt(r['t_discharge'], 's')}, charge {_fmt(r['t_charge'], 's')},"
                     f" VRESET {r['vreset']:g} V"))  # fmt: skip
    return rows


def _readout_summary(readout: dict, chip: dict | None, slope: dict | None = None) -> dict:
    """The read-out's characterisation (periphery/readout.json), the digital read-out's
    where READ is converted on chip (on_chip/slope_readout.json), and what READ showed in
    the chip's own transient: edge 0's G after each step, O+ in inference."""
    out = {**readout["summary"], "source": "periphery/readout.json"}
    if slope is not None:
        out["digital"] = {
            "max_error_v": slope["corner_max_error_v"],
            "lsb_v": slope["corner_lsb_v"],
            "full_scale_s": slope["full_scale_s"],
            "source": "on_chip/slope_readout.json",
        }
    if chip is not None and chip.get("read_g_v") is not None:
        out["chip_read_g"] = {
            "g_v": [row[0] for row in chip["g_transistor"]],
            "read_v": chip["read_g_v"],
            "read_net_v": chip.get("read_net_v"),
        }
        inf = chip.get("inference") or {}
        if "read_o_plus_v" in inf:
            out["chip_read_o_plus"] = {"o_v": inf["o_plus_v"], "read_v": inf["read_o_plus_v"]}
    return out


def _readout_rows(r: dict | None) -> list[tuple[str, str]]:
    if r is None:
        return []
    at = ", ".join(f"{g} V -> {v:.3f} V" for g, v in r["read_at_g_v"].items())
    rows = [
        ("read-out: READ for a G (tt)", f"{at}; gain {r['gain_g_1v']:.2f} at 1 V"),
        (
            "read-out: lowest G resolved (slope ≥ 0.5), over corners",
            f"{min(r['g_min_readable_v'].values()):.2f} .. "
            f"{max(r['g_min_readable_v'].values()):.2f} V",
        ),
        (
            "read-out: spread at G = 1 V",
            f"corners {_fmt(r['corner_spread_at_g_1v'], 'V')}, Monte Carlo sigma "
            f"{_fmt(r['mc_sigma_at_g_1v'], 'V')}",
        ),
        (
            "read-out: READ for a free output",
            f"{r['output_offset_v']:.3f} V + {r['output_gain']:.3f} x O (O+ and O- through "
            f"one follower: differ by {_fmt(r['output_plus_minus_max_diff_v'], 'V')})",
        ),
        (
            "read-out: G moved by reading it",
            f"{_fmt(r['kick_selected_v'], 'V')} while selected, "
            f"{_fmt(r['kick_after_v'], 'V')} after",
        ),
    ]
    if "digital" not in r:  # READ on a pad (a chip that converts it has none)
        rows.append(("read-out: settling into the pad (1 mV)", _fmt(r["settle_s"], "s")))
    if "digital" in r:
        dg = r["digital"]
        rows.append((
            "digital read-out (READ as DOUT's edge time), over corners",
            f"worst error after the board's two-point calibration "
            f"{_fmt(max(dg['max_error_v'].values()), 'V')}, one 125 MHz tick "
            f"{_fmt(min(dg['lsb_v'].values()), 'V')} .. {_fmt(max(dg['lsb_v'].values()), 'V')}, "
            f"full scale {_fmt(dg['full_scale_s'], 's')}",
        ))  # fmt: skip
    if "chip_read_g" in r:
        c = r["chip_read_g"]

        def level(v: float | None) -> str:
            return "out of range" if v is None else f"{v:.3f}"

        read = zip(c["g_v"], c["read_v"], strict=True)
        pairs = ", ".join(f"{g:.3f}->{level(v)}" for g, v in read)
        what = "READ" if c.get("read_net_v") is None else "READ from DOUT"
        rows.append((f"chip transient: edge 0's G -> {what} after each step (V)", pairs))
        if c.get("read_net_v") is not None:
            err = [abs(v - n) for v, n in zip(c["read_v"], c["read_net_v"], strict=True)
                   if v is not None]  # fmt: skip
            rows.append(("chip transient: DOUT's reading against READ inside the chip",
                         f"within {_fmt(max(err), 'V')}" if err else "no reading"))  # fmt: skip
    return rows


def _chip_summary(chip: dict, bias: dict | None) -> dict:
    """The whole chip's transient (chip_transient/chip_transient.json): its agreement with
    the model, and the energy split by block from the supply and the rails."""
    s = chip["summary"]
    inf = chip.get("inference") or {}
    return {
        "steps": s["steps"],
        "step_error_rel_total": s["step_error_rel_total"],
        "step_error_rel_max": s["step_error_rel_max"],
        "step_correlation_min": s["step_correlation_min"],
        "trajectory_max_abs_error_v": s["trajectory_max_abs_error_v"],
        "energy_per_step_j": s["energy_per_step_j"],
        "energy_per_step_total_j": sum(s["energy_per_step_j"].values()),
        "reset": s.get("reset"),
        "own_levels_worst_v": {
            "learning": s.get("own_levels_worst_v"),
            "inference": inf.get("own_levels_worst_v"),
        },
        "own_levels_beyond_s": {
            "learning": s.get("own_levels_beyond_s"),
            "inference": inf.get("own_levels_beyond_s"),
        },
        "energy_per_inference_j": inf.get("energy_per_inference_j"),
        "energy_per_inference_total_j": inf.get("energy_per_inference_total_j"),
        "static_power_w": inf.get("static_power_w"),
        "inference_settle_s": inf.get("settle_s"),
        "inference_settled": inf.get("settled"),
        "bias_mc_sigma_v": None if bias is None else bias["mc_sigma_v"],
        "source": "chip_transient/chip_transient.json",
    }


def _chip_layout_rows(c: dict | None) -> list[tuple[str, str]]:
    if c is None:
        return []
    drc = "clean" if c["drc_clean"] else f"{c['drc_violations']} violations"
    return [
        ("chip top cell (array + periphery)", f"{c['bbox_um'][0]:.0f} x {c['bbox_um'][1]:.0f} um"),
        ("chip DRC", f"{drc} ({', '.join(c['drc_decks'])})"),
        ("chip LVS against the chip netlist", "match" if c["lvs_match"] else "MISMATCH"),
    ]


def _tile_img(t: dict | None) -> str:
    if t is None or t["tile"] is None:
        return ""
    return '<img src="tapeout/tile.png" width="1000" alt="tile">'


def _tapeout_rows(t: dict | None) -> list[tuple[str, str]]:
    if t is None:
        return [("TinyTapeout tile", "not built (no chip section)")]
    if t["tile"] is None:
        return [("TinyTapeout tile", t["checks"][0]["reason"])]
    rows = [("TinyTapeout tile", f"{t['tile']} ({t['template']}, {t['tile_um'][0]} x "
             f"{t['tile_um'][1]} um), top cell {t['top']}, chip {t['chip_um'][0]:.0f} x "
             f"{t['chip_um'][1]:.0f} um")]  # fmt: skip
    rows += [(c["name"], ("pass: " if c["passed"] else "FAIL: ") + c["reason"])
             for c in t["checks"]]  # fmt: skip
    return rows


def _chip_rows(c: dict | None) -> list[tuple[str, str]]:
    if c is None:
        return [("whole chip", "not simulated (no chip section, or chip.transient_steps 0)")]
    rows = [
        ("steps simulated (transistor level, through the pins)", str(c["steps"])),
        (
            "model vs chip, per step from the chip's G",
            f"{100 * c['step_error_rel_total']:.0f} % rms of dG (worst step "
            f"{100 * c['step_error_rel_max']:.0f} %), correlation ≥ "
            f"{c['step_correlation_min']:.3f}",
        ),
        ("energy per learning step (all)", _fmt(c["energy_per_step_total_j"], "J")),
    ]
    if c.get("reset"):
        r = c["reset"]
        start = f"from {r['g_start_min_v']:.2f} .. {r['g_start_max_v']:.2f} V"
        phases = (f"discharge {_fmt(r['t_discharge_s'], 's')}, then charge "
                  f"{_fmt(r['t_reset_s'], 's')}")  # fmt: skip
        rows.insert(1, (
            f"G reset through the pins ({start})",
            f"VRESET {r['vreset_v']:.4f} V, {phases}: G "
            f"{r['g_mean_v']:.4f} V (spread {_fmt(r['g_spread_v'], 'V')})",
        ))  # fmt: skip
    beyond = c.get("own_levels_beyond_s") or {}
    for what, worst in (c.get("own_levels_worst_v") or {}).items():
        if worst:
            times = beyond.get(what) or {}
            nets = ", ".join(f"{n} {_fmt(v, 'V')}" + (f" / {_fmt(times[n], 's')}" if n in times
                             else "") for n, v in worst.items())  # fmt: skip
            rows.append((f"its own VDD, rails and VRESET in {what}: peak distance from target "
                         "/ longest disturbance beyond the tolerance", nets))  # fmt: skip
    rows += [(f"  {k}", _fmt(v, "J")) for k, v in c["energy_per_step_j"].items()]
    if c["energy_per_inference_total_j"] is not None:
        settled = c.get("inference_settled") or []
        unsettled = settled.count(False)
        note = f" (a lower bound: {unsettled} datapoint(s) not settled)" if unsettled else ""
        total = _fmt(c["energy_per_inference_total_j"], "J")
        rows.append(("energy per inference (all)", total + note))
        times = ", ".join(_fmt(x, "s") for x in c.get("inference_settle_s") or [])
        rows.append(("inference settling per datapoint (1 mV)", times))
        rows += [(f"  {k}", _fmt(v, "J")) for k, v in c["energy_per_inference_j"].items()]
    return rows


def _xor_verdict(x: dict) -> str:
    solved = "solved" if x["solved"] else "NOT solved"
    return f"{solved}, min margin {x['min_margin_frac_of_l0']:.2f} |L0|"


def _memory_rows(c: dict, pl: dict | None) -> list[tuple[str, str]]:
    """The time-differenced circuit: numbers per learning step (V of G per V^2 of x)."""
    rows = [
        ("circuit", "time-differenced (one squarer, mirror and current memory per edge)"),
        ("transfer R² (|dV| ≤ " + f"{c['range_v']} V)", f"{c['r2']:.4f}"),
        (
            "gain per learning step",
            f"{c['gain_v_per_v2']:.3g} V of G per V² (t_h {_fmt(c['t_h'], 's')}, "
            f"C_G {_fmt(c['c_gate_f'], 'F')})",
        ),
        (
            f"offset ({c['mc_n']} Monte Carlo instances, mean)",
            f"{c['offset_mean_v2']:+.2e} V² = {100 * c['offset_fraction_of_full_scale']:.2f} % "
            f"of full scale ({c['full_scale_v2']:.3g} V²)",
        ),
        (
            "mismatch",
            f"offset σ {c['offset_sigma_v2']:.2e} V² ({100 * c['offset_sigma_fraction']:.2f} % "
            f"FS), gain σ {100 * c['gain_sigma_rel']:.1f} %",
        ),
        (
            "zero-input pull (charge sharing, output conductance)",
            f"{c['pull_v2_per_v']:.2e} V² per V of G, towards {c['g_cal']:.2f} V",
        ),
        (
            "G window (gain within 10 %, residual < 3e-4 V²)",
            f"{c['g_window'][0]}–{c['g_window'][1]} V",
        ),
        (
            "frozen droop at G = 0.5 / 1 / 1.5 V (LEARN and CAL low)",
            " / ".join(
                f"{c['droop_v_per_s_at_g'].get(k, float('nan')):+.3g}"
                for k in ("0.50", "1.00", "1.50")
            )
            + " V/s",
        ),
        (
            "CAL phase: what the memory leaves unsettled (worst)",
            f"{c['settling_error_max_v2']:.1e} V² after {_fmt(c['t_cal'], 's')}",
        ),
        (
            "power per edge: a whole learning step / frozen (bias on)",
            f"{_fmt(c['power_w'], 'W')} / {_fmt(c['power_frozen_w'], 'W')} (breadboard ~100 mW: "
            f"{c['breadboard_power_w'] / c['power_w']:.2g}× more)",
        ),
    ]
    if pl:
        rows += [
            (
                f"post-layout cell ({pl['tool']}, {pl['resistors']} R, {pl['capacitors']} C): "
                "zero-input residual at G 1 V",
                f"{pl['residual_v2']:+.2e} V² (schematic {pl['schematic_residual_v2']:+.2e}), "
                f"CALB high {pl['calb_high_v']} V",
            ),
            (
                "post-layout pull; gain",
                f"{pl['pull_v2_per_v']:.2e} V²/V (schematic {pl['schematic_pull_v2_per_v']:.2e}); "
                f"{pl['gain_v_per_v2']:.3g} V/V² (schematic {pl['schematic_gain_v_per_v2']:.3g})",
            ),
        ]
    return rows


def write_cl_report(report: dict, build: Path) -> Path:
    c = report["circuit"]
    if c.get("circuit") == "memory":
        circuit_rows = _memory_rows(c, report.get("post_layout_cell"))
        if report.get("trim"):
            t = report["trim"]
            circuit_rows.append(
                (
                    "CALB high trim (extracted cell, secant)",
                    f"{t['calb_high_v']} V: residual {t['residual_v2']:+.1e} V² "
                    f"({len(t['history'])} ngspice steps)",
                )
            )
    else:
        circuit_rows = _mirror_rows(c, report.get("post_layout_cell"))
    if report["array_check"]:
        a = report["array_check"]
        circuit_rows.append(
            (
                "transistor-level array step vs model",
                f"R² {a['r2']:.3f}, max error {_fmt(a['max_abs_error_v'], 'V')} "
                f"on dG rms {_fmt(a['rms_dg_v'], 'V')} ({a['edges']} edges)",
            )
        )
    return _write(report, build, circuit_rows)


def _mirror_rows(c: dict, pl: dict | None) -> list[tuple[str, str]]:
    circuit_rows = [
        ("transfer R² (|dV| ≤ " + f"{c['range_dv_v']} V)", f"{c['r2']:.4f}"),
        ("gain", f"{_fmt(c['gain_a_per_v2'], 'A')}/V² ({c['rate_per_v2_s']:.3g} V/s per V²)"),
        ("offset (nominal)", f"{100 * c['offset_fraction_of_full_scale']:.1f} % of full scale"),
        (
            f"mismatch ({c['mismatch_instances']} Monte Carlo instances)",
            f"offset σ {100 * c['offset_sigma_fraction']:.1f} % FS, gain σ "
            f"{100 * c['gain_sigma_rel']:.1f} %",
        ),
        (
            "charge injection on / off",
            f"{_fmt(c['charge_injection_on_c'], 'C')} / {_fmt(c['charge_injection_off_c'], 'C')}",
        ),
        ("frozen droop at G = 1 V", f"{c['droop_v_per_s_at_g'].get('1.00', float('nan')):.3g} V/s"),
        ("G window (current within 10 %)", f"{c['g_window_v'][0]}–{c['g_window_v'][1]} V"),
        (
            "power per edge: learning / frozen / bias gated",
            f"{_fmt(c['power_learning_w'], 'W')} / {_fmt(c['power_frozen_w'], 'W')} / "
            f"{_fmt(c['power_bias_gated_w'], 'W')} (breadboard ~100 mW)",
        ),
    ]
    if pl:
        circuit_rows += [
            (
                f"post-layout cell ({pl['tool']}): zero-input pulse dG",
                f"{_fmt(pl['dg_zero_pulse_v'], 'V')} "
                f"(schematic {_fmt(c['dg_per_pulse_zero_input_v'], 'V')})",
            ),
            (
                "post-layout charge injection on / off",
                f"{_fmt(pl['q_on_c'], 'C')} / {_fmt(pl['q_off_c'], 'C')} (schematic "
                f"{_fmt(c['charge_injection_on_c'], 'C')} / "
                f"{_fmt(c['charge_injection_off_c'], 'C')})",
            ),
            (
                "post-layout G capacitance; dG/dt at half range",
                f"{_fmt(pl['c_gate_f'], 'F')}; {pl['dgdt_half_range_v_per_s']:.3g} V/s (schematic "
                f"{_fmt(c['c_gate_node_f'], 'F')}; {c['dgdt_transient_v_per_s']:.3g} V/s)",
            ),
        ]
    return circuit_rows


def _write(report: dict, build: Path, circuit_rows: list[tuple[str, str]]) -> Path:
    t, e = report["training"], report["energy"]
    train_rows = [
        ("update rule", t["rule"]),
        ("learning steps / chip time", f"{t['steps']} / {_fmt(t['learning_time_s'], 's')}"),
        ("final MSE", f"{t['final_mse']:.3e} V²"),
    ]
    if "xor" in t["metrics"]:
        train_rows.append(("XOR", _xor_verdict(t["metrics"]["xor"])))
    v, a = report["verification"], report["area"]
    layout_rows = [
        *verification_rows(report["verified"]),
        (
            "LVS (KLayout netlist comparer)",
            f"{'match' if v['lvs']['match'] else 'MISMATCH'}: {v['lvs']['layout_devices']} "
            f"devices / {v['lvs']['layout_nets']} nets vs reference "
            f"{v['lvs']['reference_devices']} / {v['lvs']['reference_nets']}",
        ),
        ("cell (edge + update circuit)", f"{a['cell_um2']:.0f} µm²"),
        ("array", f"{a['bbox_um'][0]:.1f} × {a['bbox_um'][1]:.1f} µm, {a['edges']} edges"),
        ("cells / array area", f"{100 * a['active_fraction']:.0f} %"),
    ]
    verdict = verdict_html(report)
    post = report.get("post_layout_training")
    if post:
        train_rows.append(
            ("with the post-layout cell's rule: final MSE", f"{post['final_mse']:.3e} V²")
        )
        if "xor" in post["metrics"]:
            train_rows.append(
                ("XOR (post-layout cell's rule)", _xor_verdict(post["metrics"]["xor"]))
            )
    energy_rows = [
        (
            k.replace("_", " "),
            _fmt(v, "J")
            if k.endswith("_j")
            else (
                _fmt(v, "W") if k.endswith("_w") else (_fmt(v, "s") if k.endswith("_s") else str(v))
            ),
        )
        for k, v in e.items()
    ]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{report["design"]} — twinedge report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;margin:0.5em 0 1.5em}}th,td{{border:1px solid #ccc;
padding:4px 10px;text-align:left}}th{{background:#f4f4f4;font-weight:normal}}</style></head>
<body><h1>{report["design"]}</h1>
{verdict}<p>Limitation: {NO_PEX}.</p>
<h2>Layout and verification</h2>
<img src="layout/layout.png" width="600" alt="layout">{_table(layout_rows)}
<h2>On-chip learning circuit (ngspice, the PDK's models)</h2>
<img src="characterise/characterisation.png" width="1000" alt="characterisation">
{_table(circuit_rows)}
<h2>Training with the circuit's rule</h2>
<img src="train/training.png" width="700" alt="training">{_table(train_rows)}
<h2>Energy per learning step</h2>{_table(energy_rows)}
<h2>The whole chip (ngspice, transistor level, driven through its pins)</h2>
{
        _table(
            _chip_layout_rows(report.get("chip_layout"))
            + _on_chip_rows(report.get("on_chip"))
            + _chip_rows(report.get("chip"))
            + _readout_rows(report.get("readout"))
        )
    }
<h2>TinyTapeout tile (the shuttle's precheck, DRC, the pins' wiring)</h2>
{_tile_img(report.get("tapeout"))}{_table(_tapeout_rows(report.get("tapeout")))}
<h2>The tile as laid out (extracted, driven through its pins)</h2>
{_table(_tile_post_rows(report.get("chip_post_layout")))}
<h2>Provenance</h2>{_table([(k, str(v)) for k, v in report["provenance"].items()])}
</body></html>
"""
    with staged_outputs(build) as tmp:
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
        (tmp / "report.html").write_text(page)
    return build / "report.json"
