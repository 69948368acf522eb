"""Process design kits: one module per PDK (layers, rules, devices, model files, decks).

SKY130 comes first (issue 3), GF180MCU next; the spec already accepts both names.
"""

from __future__ import annotations


def device_name(pdk: str) -> str:
    """The edge transistor's model name in the PDK's ngspice library."""
    if pdk == "sky130":
        from twinedge.pdk.sky130 import NFET

        return NFET
    raise ValueError(f"no device models for pdk {pdk!r} yet (have: sky130)")
