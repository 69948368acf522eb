"""The learning chip on GF180MCU as far as it is assembled: a GF180MCU learning-cell design
with a SKY130 chip design's ``chip:`` section (the loader still refuses such a spec: its
transient is not built), its pin plan without analog pins, its own rails, supply and
read-out sized (characterise/on_chip.py), its top cell routed without Metal5, its LVS
against its netlist, its TinyTapeout tile, the precheck, the tile's wiring and the DRC of
both; then the chip at rest at each corner (its own VDD, rails and VRESET at DC). Writes
the GDS files and reports to ``--out`` and prints tables.

The bias strings are sized to the design's biases as characterised on 2026-12-03 (VCP at
0.5 V takes a string with a longer PMOS diode on GF180MCU).
VRESET is the benches' 1.6 V placeholder (the chip's own comes from its transient). The
rail buffers are sized to the network's currents (learn.rail_loads), which need the
design's device table: cached after its flow, minutes to build on a cold cache.

    .venv/bin/python benchmarks/gf180_chip.py designs/xor_4x4_cl_gf180.yaml \\
        --chip-from designs/xor_chip_sky130.yaml
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

import twinedge.pdk
from twinedge.cells.chip import chip_top
from twinedge.cells.gds import write_gds
from twinedge.cells.tapeout import supply_net, tapeout_tile, tile_nets
from twinedge.cells.tile import lef, verilog_stub
from twinedge.characterise import chip
from twinedge.characterise.bias import BiasTargets, size_strings
from twinedge.characterise.on_chip import operating_point, size_on_chip
from twinedge.circuits.bias import fields
from twinedge.reports.tt_info import info_yaml
from twinedge.spec.loader import LoadedSpec, build_dataset
from twinedge.spec.schema import Design
from twinedge.verify.drc import run_drc
from twinedge.verify.lvs import run_chip_lvs
from twinedge.verify.precheck import precheck
from twinedge.verify.tile_wiring import pin_wiring

# the GF180MCU design's characterised memory biases and floor (2026-12-03), the element's VBE
BIASES = BiasTargets(vbp=0.7, vcn=1.0, vcp=0.5, vfloor=0.9897, vbe=0.6, vcalb=1.8)
VRESET = 1.6


def chip_spec(spec: Path, chip_from: Path) -> LoadedSpec:
    """``spec`` with ``chip_from``'s chip section (analog pin choices dropped)."""
    d = yaml.safe_load(spec.read_text())
    section = yaml.safe_load(chip_from.read_text())["chip"]
    d["name"] = f"{d['name']}_chip"
    d["chip"] = {k: v for k, v in section.items() if k != "analog_pins"}
    design = Design.model_validate(d)
    return LoadedSpec(design, spec, build_dataset(design, str(spec), spec.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--chip-from", type=Path, default=Path("designs/xor_chip_sky130.yaml"))
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    t0 = time.time()
    spec = chip_spec(a.spec, a.chip_from)
    d = spec.design
    out = a.out or Path("build") / d.name
    out.mkdir(parents=True, exist_ok=True)
    pdk = twinedge.pdk.activate(d.pdk)
    pp = chip.plan(d, spec.dataset.inputs, spec.dataset.labels, str(a.spec))
    (out / "pin_plan.md").write_text(pp.markdown())
    oc = size_on_chip(spec, pp, vreset=VRESET)
    w = chip.wiring(spec, pp, size_strings(pdk, BIASES), oc)
    top = chip_top(d, w, tuple(fields(b) for b in w.bias_strings))
    box = top.dbbox()
    chip_gds = write_gds(top, out / f"{d.name}_chip.gds")
    lvs = run_chip_lvs(d, w, chip_gds, out / "lvs")
    name = f"tt_um_{d.name}"
    tl = tapeout_tile(top, pp, pdk.install_name, name)
    tile_gds = write_gds(tl.component, out / f"{name}.gds")
    info = info_yaml(pp, tl.tile, name, d.name, "twinedge", "a learning chip", False)
    files = (lef(tl.tile, name, list(tl.stripes)), verilog_stub(tl.tile, name), info)
    for suffix, text in zip((".lef", ".v", "_info.yaml"), files, strict=True):
        (out / f"{name}{suffix}").write_text(text)
    checks = precheck(tile_gds, *files, tl.tile, name, pdk).checks
    checks.append(pin_wiring(tile_gds, name, tl.tile, tile_nets(tl.wires, tl.tied,
                                                               supply_net(pp)), pdk))  # fmt: skip
    drc = run_drc(tile_gds, out / "drc", pdk)
    failed = [c.name for c in checks if not c.passed]
    print(f"| {d.name} on {pdk.name} | |")
    print("|---|---|")
    print(f"| on-chip taps | {', '.join(f'{n} {v:g} V' for n, v in oc.taps)} |")
    print(f"| rail buffers | {', '.join(r for r, _ in oc.buffers)} |")
    print(f"| chip top cell | {box.width():.1f} x {box.height():.1f} um, "
          f"{top.info['tracks']} channel tracks |")  # fmt: skip
    print(f"| LVS | {'match' if lvs.match else 'MISMATCH'} ({lvs.layout_devices} devices) |")
    print(f"| tile | {tl.tile.name} ({tl.tile.width:g} x {tl.tile.height:g} um), "
          f"{len(tl.wires)} pins wired, {len(tl.tied)} outputs tied low |")  # fmt: skip
    print(f"| precheck and pin wiring | {len(checks) - len(failed)}/{len(checks)} pass"
          f"{': ' + ', '.join(failed) if failed else ''} |")  # fmt: skip
    print(f"| DRC of the tile | {drc.violations} violations ({drc.rules_checked} rules) |")
    print("\nThe chip at rest (DC, its whole netlist, only its pins driven; VDD33 3.3 V):\n")
    ops = [operating_point(w, pp, d.pdk, c) for c in ("tt", "ss", "ff", "sf", "fs")]
    nets = list(ops[0]["levels_v"])
    print("| corner | " + " | ".join(nets) + " | supply |")
    print("|---" * (len(nets) + 2) + "|")
    for op in ops:
        cells = " | ".join(f"{op['levels_v'][n]:.4f}" for n in nets)
        print(f"| {op['corner']} | {cells} | {op['supply_a'] * 1e6:.0f} uA |")
    print(f"\n{out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
