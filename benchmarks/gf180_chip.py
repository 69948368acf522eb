"""The learning chip on GF180MCU, its layout and tile without the flow's training: the chip
design's pin plan without analog pins, its reset (the VRESET its ladder taps), its own
rails, supply and read-out sized (characterise/on_chip.py), its top cell routed without
Metal5, its LVS against its netlist, its TinyTapeout tile, the precheck, the tile's wiring
and the DRC of both; then the chip at rest at each corner (its own VDD, rails and VRESET at
DC). Writes the GDS files and reports to ``--out`` and prints tables.

The bias strings are sized to the design's biases as characterised on 2026-12-03 (VCP at
0.5 V takes a string with a longer PMOS diode on GF180MCU). The rail buffers are sized to
the network's currents (learn.rail_loads), which need the design's device table: cached
after its flow, minutes to build on a cold cache.

    .venv/bin/python benchmarks/gf180_chip.py designs/xor_chip_gf180.yaml
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

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
from twinedge.spec.loader import load_spec
from twinedge.verify.drc import run_drc
from twinedge.verify.lvs import run_chip_lvs
from twinedge.verify.precheck import precheck
from twinedge.verify.tile_wiring import pin_wiring

# the GF180MCU design's characterised memory biases and floor (2026-12-03), the element's VBE
BIASES = BiasTargets(vbp=0.7, vcn=1.0, vcp=0.5, vfloor=0.9897, vbe=0.85, vcalb=1.8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    t0 = time.time()
    spec = load_spec(a.spec)
    d = spec.design
    out = a.out or Path("build") / d.name
    out.mkdir(parents=True, exist_ok=True)
    pdk = twinedge.pdk.activate(d.pdk)
    pp = chip.plan(d, spec.dataset.inputs, spec.dataset.labels, str(a.spec))
    (out / "pin_plan.md").write_text(pp.markdown())
    reset = chip.plan_reset(spec, BIASES)
    oc = size_on_chip(spec, pp, vreset=reset.vreset)
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
    print(f"| reset | discharge {reset.t_discharge * 1e6:.1f} us, charge "
          f"{reset.t_charge * 1e6:g} us, VRESET {reset.vreset:g} V |")  # fmt: skip
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
