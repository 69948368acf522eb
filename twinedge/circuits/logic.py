"""Static CMOS gates as device lists (the sequencer's and the read-out decoder's logic)."""

from __future__ import annotations

from twinedge.circuits.mirror import Device


def inv(name: str, a: str, y: str, wn: float, wp: float, gl: float) -> list[Device]:
    return [
        Device(f"{name}N", "n", y, a, "0", wn, gl),
        Device(f"{name}P", "p", y, a, "vdd", wp, gl),
    ]


def nand(name: str, ins: tuple[str, ...], y: str, wn: float, wp: float, gl: float) -> list[Device]:
    """NMOS in series (a stack from ``y`` to ground), PMOS in parallel."""
    out, top = [], y
    for k, a in enumerate(ins):
        below = "0" if k == len(ins) - 1 else f"{name.lower()}{k}"
        out.append(Device(f"{name}N{k}", "n", top, a, below, wn, gl))
        out.append(Device(f"{name}P{k}", "p", y, a, "vdd", wp, gl))
        top = below
    return out


def nor(name: str, ins: tuple[str, str], y: str, wn: float, wp: float, gl: float) -> list[Device]:
    """PMOS in series, NMOS in parallel."""
    mid = f"{name.lower()}m"
    return [
        Device(f"{name}P0", "p", mid, ins[0], "vdd", wp, gl),
        Device(f"{name}P1", "p", y, ins[1], mid, wp, gl),
        Device(f"{name}N0", "n", y, ins[0], "0", wn, gl),
        Device(f"{name}N1", "n", y, ins[1], "0", wn, gl),
    ]
