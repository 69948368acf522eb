"""The flow's report: ``build/<design>/report.json`` and ``report.html``.

Every number is read from a stage artifact of this build (drc.json, lvs.json, area.json,
pex.json, the two train.json, energy.json); nothing is computed here but ratios.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path

from twinedge.artifacts import staged_outputs
from twinedge.reports.plots import plot_mse_compare

# The seed's figures (Dillavou et al.): breadboard and projected microfabricated energies.
SEED_BREADBOARD_J_PER_EDGE = (10e-12, 20e-12)
SEED_PROJECTED_J_PER_EDGE = 150e-15


def tool_versions(manifest: dict) -> dict[str, str]:
    """Every tool version the run's stages recorded (manifest.json), plus Python's."""
    out = {"python": manifest.get("python", "unknown"), "twinedge": manifest.get("twinedge")}
    for stage in manifest.get("stages", []):
        out.update(stage.get("tools", {}))
    return out


def verified(drc: dict, lvs: dict, pex: dict | None) -> dict:
    """What was checked, deck by deck: the report never claims a check that did not run."""
    return {
        "drc": [
            {
                "deck": d["name"],
                "kind": d["kind"],
                "note": d.get("note", ""),
                "rules": d["rules_in_deck"],
                "violations": d["violations"],
                "clean": d["violations"] == 0,
            }
            for d in drc["decks"]
        ],
        "lvs": {"match": bool(lvs["match"]), "devices": lvs["layout_devices"]},
        "pex": None if pex is None else {"tool": pex["tool"], "scope": "whole array"},
    }


def build_report(
    spec_path: Path,
    seed: int,
    pdk: str,
    pdk_version: str,
    drc: dict,
    lvs: dict,
    area: dict,
    pex: dict,
    schematic: dict,
    post_layout: dict,
    energy: dict,
    manifest: dict,
    not_ready: list[str],
) -> dict:
    """``not_ready``: why the design cannot be handed to a shuttle (empty: it can)."""
    return {
        "design": schematic["design"],
        "tapeout_ready": not not_ready,
        "not_ready_because": not_ready,
        "verified": verified(drc, lvs, pex),
        "drc": {"violations": drc["violations"], "by_rule": drc.get("by_rule", {})},
        "lvs": {"match": bool(lvs["match"]), "mismatches": lvs.get("mismatches", [])[:10]},
        "area": {
            "cell_um2": area["cell_um2"],
            "site_um2": area["site_um2"],
            "array_um2": area["array_um2"],
            "bbox_um": area["bbox_um"],
            "active_fraction": area["active_fraction"],
            "edges_per_mm2": area["edges_per_mm2"],
            "edges": area["edges"],
        },
        "extraction": {
            "tool": pex["tool"],
            "resistors": pex["n_resistors"],
            "capacitors": pex["n_capacitors"],
            "node_c_f": pex["node_c_f"],
            "route_r_ohm": pex["route_r_ohm"],
            "substrate_islands_tied_to_ground": pex["substrate_islands"],
            "seconds": pex["seconds"],
        },
        "energy": {
            **energy,
            "seed_breadboard_j_per_edge": list(SEED_BREADBOARD_J_PER_EDGE),
            "seed_projected_j_per_edge": SEED_PROJECTED_J_PER_EDGE,
        },
        "training": {
            "schematic_final_mse": schematic["final_mse"],
            "post_layout_final_mse": post_layout["final_mse"],
            "schematic_metrics": schematic["metrics"],
            "post_layout_metrics": post_layout["metrics"],
            "steps": schematic["run"]["steps"],
            "learning_time_s": schematic["run"]["learning_time_s"],
            "post_layout_wall_s": post_layout["run"]["wall_s"],
        },
        "provenance": {
            "spec": str(spec_path),
            "spec_sha256": hashlib.sha256(spec_path.read_bytes()).hexdigest(),
            "tool_versions": tool_versions(manifest),
            "manifest": "manifest.json",
            "pdk": pdk,
            "pdk_version": pdk_version,
            "seed": seed,
        },
    }


def _fmt(x: float, unit: str) -> str:
    prefixes = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1, "")]
    for scale, p in reversed(prefixes):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def verdict_html(report: dict) -> str:
    if report["tapeout_ready"]:
        return "<p><b>tapeout-ready</b>: every tapeout check ran and passed.</p>"
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in report["not_ready_because"])
    return f"<p><b>NOT tapeout-ready</b>:</p><ul>{reasons}</ul>"


def verification_rows(v: dict) -> list[tuple[str, str]]:
    rows = [
        (
            f"DRC: {d['deck']} ({d['kind']})",
            f"{'clean' if d['clean'] else str(d['violations']) + ' violations'}, "
            f"{d['rules']} rules" + (f"; {d['note']}" if d["note"] else ""),
        )
        for d in v["drc"]
    ]
    rows.append(("LVS", f"{'match' if v['lvs']['match'] else 'MISMATCH'}, "
                        f"{v['lvs']['devices']} devices"))  # fmt: skip
    pex = v["pex"]
    rows.append(("PEX", "not run" if pex is None else f"{pex['tool']} ({pex['scope']})"))
    return rows


def _sampled(e: dict) -> str:
    """How the mean was taken, where it is over a random sample of the datapoints."""
    if e.get("transitions", 0) >= e.get("datapoints", 0):
        return ""
    return (f" (mean of {e['transitions']} random transitions of {e['datapoints']} datapoints, "
            f"± {_fmt(e['inference_sem_j'], 'J')})")  # fmt: skip


def write_report(report: dict, build: Path, curves: dict) -> Path:
    """Write report.json, report.html and the schematic-vs-post-layout training plot."""
    a, e, t = report["area"], report["energy"], report["training"]
    verdict = verdict_html(report)
    energy_rows = [
        ("energy per inference", _fmt(e["inference_j"], "J") + _sampled(e)),
        ("per edge", _fmt(e["per_edge_j"], "J")),
        ("dynamic part (above static)", _fmt(e["dynamic_j"], "J")),
        ("settling time τ_V (worst)", _fmt(e["settling_s"], "s")),
        ("static power at equilibrium", _fmt(e["static_w"], "W")),
        ("energy per learning step", _fmt(e["learning_step_j"], "J")),
        ("  twins, clamped, for t_h", _fmt(e["learning_twins_j"], "J")),
        ("  update charge into gate caps", _fmt(e["learning_update_j"], "J")),
        (
            "seed: breadboard / projected per edge",
            f"{_fmt(e['seed_breadboard_j_per_edge'][0], 'J')}–"
            f"{_fmt(e['seed_breadboard_j_per_edge'][1], 'J')} / "
            f"{_fmt(e['seed_projected_j_per_edge'], 'J')}",
        ),
    ]
    area_rows = [
        ("twin-edge cell", f"{a['cell_um2']:.2f} µm²"),
        ("lattice site (node + 2 edges)", f"{a['site_um2']:.2f} µm²"),
        ("array", f"{a['array_um2']:.1f} µm² ({a['bbox_um'][0]:.1f} × {a['bbox_um'][1]:.1f} µm)"),
        ("active / total", f"{100 * a['active_fraction']:.0f} %"),
        ("edges per mm²", f"{a['edges_per_mm2']:,.0f}"),
    ]
    train_rows = [
        ("learning steps / time", f"{t['steps']} / {t['learning_time_s']:.3g} s"),
        ("final MSE, schematic (PDK table)", f"{t['schematic_final_mse']:.3e} V²"),
        ("final MSE, post-layout (ngspice, RC-extracted)", f"{t['post_layout_final_mse']:.3e} V²"),
    ]
    for label, m in (
        ("schematic", t["schematic_metrics"]),
        ("post-layout", t["post_layout_metrics"]),
    ):
        if "xor" in m:
            x = m["xor"]
            train_rows.append(
                (
                    f"XOR {label}",
                    f"{'solved' if x['solved'] else 'not solved'}, min margin "
                    f"{x['min_margin_frac_of_l0']:.2f} |L0|",
                )
            )
    ver = report["provenance"]["tool_versions"]
    prov_rows = [(k, str(v)) for k, v in report["provenance"].items() if k != "tool_versions"]
    prov_rows += [(k, v) for k, v in ver.items()]
    x = report["extraction"]
    pex_rows = [
        ("extractor", x["tool"]),
        ("R / C elements", f"{x['resistors']} / {x['capacitors']}"),
        ("max total C of a lattice net", _fmt(max(x["node_c_f"].values()), "F")),
        ("max route R (port to device)", f"{max(x['route_r_ohm'].values()):.0f} Ω"),
    ]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(report["design"])} — twinedge report</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto}}
table{{border-collapse:collapse;margin:0.5em 0 1.5em}}th,td{{border:1px solid #ccc;
padding:4px 10px;text-align:left}}th{{background:#f4f4f4;font-weight:normal}}</style></head>
<body><h1>{html.escape(report["design"])}</h1>
{verdict}
<h2>Verification</h2>{_table(verification_rows(report["verified"]))}
<h2>Layout</h2><img src="layout/layout.png" width="600" alt="layout (KLayout render)">
<h2>Area</h2>{_table(area_rows)}
<h2>Parasitic extraction</h2>{_table(pex_rows)}
<h2>Training</h2><img src="report_training.png" width="700" alt="MSE schematic vs post-layout">
{_table(train_rows)}
<h2>Energy and timing (post-layout transient)</h2>{_table(energy_rows)}
<h2>Provenance</h2>{_table(prov_rows)}
</body></html>
"""
    with staged_outputs(build) as tmp:
        plot_mse_compare(curves, tmp / "report_training.png")
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
        (tmp / "report.html").write_text(page)
    return build / "report.json"
