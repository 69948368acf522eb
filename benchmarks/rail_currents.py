"""What on-chip rails must drive: the table of :func:`twinedge.learn.rail_loads.rail_currents`
(each boundary level's most sunk and sourced current, both twins, over the datapoints and
phases, at several G states), the load a chip's rail buffers are sized for.

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
