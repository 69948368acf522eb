"""What on-chip rails must drive: the current each boundary level of a design's network
sources (+) or sinks (-), both twins together, over its datapoints and phases (free with the
clamped twin at +eta, and at -eta for the symmetric nudge), at several G states (every
edge at g_init, at g_max, at g_min, and uniformly random in [g_min, g_max], seeded).

A chip on a shuttle without analog pins (TinyTapeout's GF180MCU tiles) makes these levels on
chip: this is the load its rail buffers must hold (docs/periphery.md, "A learning chip on
GF180MCU"). Behavioural network with the design's device model (its PDK table), no
parasitics. The clamped outputs are driven by the error element, not by a rail: not listed.

    .venv/bin/python benchmarks/rail_currents.py designs/xor_4x4_cl_gf180.yaml
"""

from __future__ import annotations

import argparse

from twinedge.learn.rail_loads import rail_currents
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--seed", type=int, default=0, help="the random G state's seed")
    a = ap.parse_args()
    print("| G state | rail | most sunk (uA) | most sourced (uA) |")
    print("|---|---|---|---|")
    for state, rails in rail_currents(load_spec(a.spec), a.seed).items():
        for rail, (lo, hi) in rails.items():
            print(f"| {state} | {rail:g} V | {min(lo, 0) * 1e6:.1f} | {max(hi, 0) * 1e6:.1f} |")


if __name__ == "__main__":
    main()
