"""One learning step of the chip deck, side by side: the schematic chip, the extracted
TinyTapeout tile as kpex writes it (every finger a device), the tile with parallel
fingers combined (``m=``, :mod:`twinedge.spice.combine`), each at the old largest time
step (2 ns) and the flow's (:data:`twinedge.characterise.chip.MAX_STEP`). Prints the wall
time, the time points, the largest G difference from the tile's fingers at 2 ns (the
reference) and the supply's charge over the step.

Needs a finished ``twinedge tapeout`` build of the design (the tile's netlist from the
``tile extraction`` stage, the schematic chip transient's G after its reset):

    .venv/bin/python benchmarks/bench_chip_decks.py [designs/xor_chip_sky130.yaml] \
        [--variants schematic tile-fingers tile-combined] [--max-steps 2e-9 1e-8] \
        [--build build/xor_chip_sky130] [--netlist tile.pex.spice]

ngspice runs on one thread, as in the flow; the runs go one after another (a tile step at
2 ns with its fingers takes ~10 min alone on this machine).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from twinedge.cells.tapeout import tile_nets
from twinedge.characterise import chip_post_layout as cpl
from twinedge.characterise.bias import BiasCharacterisation
from twinedge.characterise.chip import MAX_STEP, Reset, deck, wiring
from twinedge.characterise.mirror import numeric_rows
from twinedge.circuits.chip import BLOCKS
from twinedge.pdk import activate
from twinedge.spec import load_spec
from twinedge.spec.pinplan import plan
from twinedge.spice.deck import run_deck

VARIANTS = ("schematic", "tile-fingers", "tile-combined")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default="designs/xor_chip_sky130.yaml")
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--max-steps", nargs="+", type=float, default=[2e-9, MAX_STEP])
    ap.add_argument("--build", type=Path, help="the build folder (default build/<design>)")
    ap.add_argument("--netlist", type=Path, help="the tile's netlist (default: the build's)")
    args = ap.parse_args()
    spec = load_spec(args.spec)
    d, ds = spec.design, spec.dataset
    pdk = activate(d.pdk)
    build = args.build or Path("build") / d.name
    manifest = json.loads((build / "manifest.json").read_text())
    folder = {s["stage"]: build / s["folder"] for s in manifest["stages"] if s.get("folder")}
    schematic = json.loads((folder["chip transient"] / "chip_transient.json").read_text())
    tile = json.loads((folder["tapeout"] / "tapeout.json").read_text())
    netlist = (args.netlist or folder["tile extraction"] / cpl.NETLIST).read_text()
    bias = json.loads((folder["periphery"] / "bias.json").read_text())
    pp = plan(d, ds.inputs, ds.labels, str(spec.path))
    w = wiring(spec, pp, BiasCharacterisation(**bias).sized())
    pins = tile_nets(tile["wires"], tile["tied_to_vgnd"])
    bodies = {
        "schematic": None,
        "tile-fingers": cpl.chip_body(netlist, pins, pdk, combine=False),
        "tile-combined": cpl.chip_body(netlist, pins, pdk),
    }
    start = Reset.none(schematic["g0"], schematic["vreset_v"])
    order = schematic["datapoints"][:1]
    n_g = len(w.edges)
    results, walls = {}, {}
    for variant in args.variants:
        body = bodies[variant]
        if body is not None:
            devices = sum(1 for ln in body.splitlines() if ln[:1] in "Xx")
            print(f"{variant}: {devices} devices", flush=True)
        for max_step in args.max_steps:
            text, _ = deck(spec, w, pp, order, start, body, max_step=max_step)
            t0 = time.perf_counter()
            rows = numeric_rows(run_deck(text, timeout=7200))
            wall = time.perf_counter() - t0
            t = rows[:, 0]
            g = rows[-1, 1 : 2 * n_g : 2]
            n_supply = len(BLOCKS) if body is None else 1  # VDD by block, or the tile's one
            supply = rows[:, 2 * n_g + 1 : 2 * (n_g + n_supply) : 2].sum(axis=1)
            results[(variant, max_step)] = g
            walls[(variant, max_step)] = wall
            print(
                f"{variant:14s} max step {max_step * 1e9:4.0f} ns: {wall:7.1f} s, "
                f"{len(t)} points, supply charge {np.trapezoid(supply, t):.6e} C",
                flush=True,
            )
    ref = results.get(("tile-fingers", 2e-9))
    if ref is not None:
        g0 = np.asarray(schematic["g0"])
        print(f"the step moved G by {np.sqrt(np.mean((ref - g0) ** 2)):.4f} V rms")
        base = walls[("tile-fingers", 2e-9)]
        for key, g in results.items():
            diff = np.max(np.abs(g - ref))
            print(f"{key[0]:14s} {key[1] * 1e9:4.0f} ns: G max |diff| from tile-fingers at 2 ns "
                  f"{diff:.2e} V, {base / walls[key]:.1f}x its speed")  # fmt: skip


if __name__ == "__main__":
    main()
