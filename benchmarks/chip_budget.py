"""What a learning chip on a tile without analog pins (TinyTapeout's GF180MCU) takes in area:
the design's learning array laid out, and every periphery block it needs, each laid out on
the design's PDK (sized as the benches size them): the SKY130 chip's blocks (sequencer,
input and label drivers, error elements, read-out decoder, bias strings), and the ones that
replace its analog pins (constant-gm reference, rails' ladder, rail buffers, supply
regulator, digital read-out). The sum against the shuttle's tile sizes. Blocks only: no
routing, spacing or floorplan (docs/periphery.md, "A learning chip on GF180MCU").

    .venv/bin/python benchmarks/chip_budget.py designs/xor_4x4_cl_gf180.yaml
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import astuple, replace
from pathlib import Path

import twinedge.pdk
from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.rail_buffer import RailBufferConditions, size_output
from twinedge.characterise.rail_reference import LadderConditions, size_ladder
from twinedge.characterise.regulator import RegulatorConditions, size_pass
from twinedge.circuits import bias
from twinedge.circuits.rail_buffer import RailBufferSizing
from twinedge.learn.rail_loads import rail_loads
from twinedge.pdk.tinytapeout import tiles
from twinedge.spec import load_spec
from twinedge.spec.pinplan import rail_levels

VDD, VBE = 3.3, 2.2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path)
    a = ap.parse_args()
    t0 = time.time()
    spec = load_spec(a.spec)
    d = spec.design
    pdk = twinedge.pdk.get(d.pdk)
    levels = rail_levels(d, spec.dataset.inputs, spec.dataset.labels)
    loads = rail_loads(spec)
    ladder = size_ladder(pdk, LadderConditions(tuple((n.lower(), v) for n, v in levels.items()),
                                               VDD, 15e-6))  # fmt: skip
    reg = RegulatorConditions(level=pdk.vdd, vdd=VDD, vbe=VBE)
    reg_sizing = size_pass(pdk, reg)
    buffers = []
    for level, (src, snk) in loads.items():
        cond = RailBufferConditions(level=level, i_source=src, i_sink=snk, vbe=VBE, vdd=VDD,
                                    sizing=RailBufferSizing(drive="source" if src >= snk
                                                            else "sink"))  # fmt: skip
        buffers.append(replace(cond, sizing=size_output(pdk, cond)).sizing)
    twinedge.pdk.activate(pdk.name)
    from twinedge.cells import periphery
    from twinedge.cells.error_element import error_element_block
    from twinedge.stages.layout import run_layout

    strings = tuple(
        (n, 1.8, None, None) if n == "vcalb" else (n, 0.7, 1.0, 1.5, 1 + (n == "vcn"))
        for n in bias.BIASES
    )  # the bias strings' sizes are the periphery stage's; these are of their size
    k = 0.25  # the element's nudge weight (the chip's comes from its wiring: same block size)
    blocks = [
        ("sequencer", 1, periphery.sequencer_block()),
        ("input driver", len(d.pins.inputs), periphery.driver_block(False)),
        ("label driver", 2, periphery.driver_block(True)),
        ("error element", 2, error_element_block(k, True)),
        ("read-out decoder", 1, periphery.readout_block(d.network.rows, d.network.cols)),
        ("bias strings", 1, periphery.bias_block(strings)),
        ("constant-gm reference", 1, periphery.constant_gm_block(astuple(reference_for(pdk, VDD,
                                                                                      VBE)))),
        ("rails' ladder", 1, periphery.rail_reference_block(tuple(astuple(s) for s in ladder),
                                                             1.0)),
        *[(f"rail buffer {lv:g} V ({s.drive})", 1,
           periphery.rail_buffer_block(s.drive, s.drive_w, s.bias_w))
          for lv, s in zip(loads, buffers, strict=True)],
        ("regulator", 1, periphery.regulator_block(astuple(reg_sizing))),
        ("digital read-out", 1, periphery.slope_readout_block()),
    ]  # fmt: skip
    print("| block | count | size (um) | area (um^2) |")
    print("|---|---|---|---|")
    total = 0.0
    for name, n, comp in blocks:
        w, h = comp.info["length"], comp.info["height"]
        total += n * w * h
        print(f"| {name} | {n} | {w:.1f} x {h:.1f} | {n * w * h:,.0f} |")
    with tempfile.TemporaryDirectory() as tmp:
        lay = run_layout(d, Path(tmp))
        array = lay.area.array_um2
        aw, ah = lay.area.bbox_um
    print(f"| periphery, blocks only | | | {total:,.0f} |")
    print(f"| learning array ({d.network.rows}x{d.network.cols}) | 1 | {aw:.1f} x {ah:.1f} "
          f"| {array:,.0f} |")  # fmt: skip
    need = total + array
    print(f"\nblocks and array: {need:,.0f} um^2 ({pdk.name}); tiles:")
    for t in tiles(pdk.install_name):
        area = "fits" if t.width * t.height >= need else "too small"
        if aw <= t.width and ah <= t.height:  # what is left beside and under the array
            shape = f"the array fits, {t.width - aw:.0f} um beside it, {t.height - ah:.0f} under it"
        else:
            shape = "the array does not fit"
        print(f"  {t.name}: {t.width:g} x {t.height:g} um = {t.width * t.height:,.0f} um^2 "
              f"({area} by area alone; {shape})")  # fmt: skip
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
