"""SKY130 device extraction and connectivity, shared by LVS and the PEX database.

One definition of how the layout's shapes become devices and nets, on layers named as
klayout-pex's SKY130 technology names them (``met1_con``, ``licon_nsd_con``, ...), so the
LVS verdict and the netlist kpex extracts parasitics for come from the same rules:

* ``nfet_01v8``: poly over n+ diffusion (diff in nsdm, outside the n-well), body the
  p-substrate, a global net that p+ taps reach;
* ``pfet_01v8`` (``with_pfet``): poly over p+ diffusion inside an n-well, body the n-well,
  which n+ taps contact;
* diff/tap - licon - li - mcon - met1 - via1 - met2 - via2 - met3 - via3 - met4, and
  poly - licon; text labels name the nets of the layer they sit on.
"""

from __future__ import annotations

import klayout.db as kdb

from twinedge.pdk import sky130 as pdk

LABELS = (
    (pdk.LI_LABEL, "li_label", "li_con"),
    (pdk.MET1_LABEL, "met1_label", "met1_con"),
    (pdk.MET2_LABEL, "met2_label", "met2_con"),
    (pdk.MET3_LABEL, "met3_label", "met3_ncap"),
    (pdk.MET4_LABEL, "met4_label", "met4_ncap"),
    (pdk.POLY_LABEL, "poly_label", "poly_con"),
)


def connect_sky130(
    l2n: kdb.LayoutToNetlist, layout: kdb.Layout, substrate_net: str, with_pfet: bool
) -> dict[str, kdb.Region]:
    """Register layers, extract MOS devices and declare connectivity on ``l2n``; returns the
    conductor regions by name (for callers that add pin layers)."""

    def drawn(spec: pdk.Layer, name: str) -> kdb.Region:
        return l2n.make_polygon_layer(layout.layer(*spec), name)

    diff, tap, nwell = drawn(pdk.DIFF, "diff"), drawn(pdk.TAP, "tap"), drawn(pdk.NWELL, "nwell")
    nsdm, psdm = drawn(pdk.NSDM, "nsdm"), drawn(pdk.PSDM, "psdm")
    r = {
        "poly_con": drawn(pdk.POLY, "poly_con"),
        "li_con": drawn(pdk.LI, "li_con"),
        "mcon_con": drawn(pdk.MCON, "mcon_con"),
        "met1_con": drawn(pdk.MET1, "met1_con"),
        "met2_con": drawn(pdk.MET2, "met2_con"),
        "met3_ncap": drawn(pdk.MET3, "met3_ncap"),
        "met4_ncap": drawn(pdk.MET4, "met4_ncap"),
        "via1_con": drawn(pdk.VIA1, "via1_con"),
        "via2_con": drawn(pdk.VIA2, "via2_con"),
        "via3_ncap": drawn(pdk.VIA3, "via3_ncap"),
    }
    licon, poly = drawn(pdk.LICON, "licon"), r["poly_con"]
    derived = {
        "ngate": (diff & poly & nsdm) - nwell,
        "nsd": ((diff - poly) & nsdm) - nwell,
        "ptap_conn": (tap & psdm) - nwell,
    }
    if with_pfet:
        derived |= {
            "pgate": diff & poly & psdm & nwell,
            "psd": (diff - poly) & psdm & nwell,
            "ntap_conn": tap & nsdm & nwell,
        }
    derived["licon_poly_con"] = licon & poly
    for sd in ("nsd", "ptap_conn", "psd", "ntap_conn"):
        if sd in derived:
            derived[f"licon_{sd.removesuffix('_conn')}_con"] = licon & derived[sd]
    for name, region in derived.items():
        l2n.register(region, name)
    r |= derived

    sub = l2n.make_polygon_layer(layout.layer(), "sub")
    nsd = r["nsd"]
    l2n.extract_devices(
        kdb.DeviceExtractorMOS4Transistor(pdk.NFET),
        {"SD": nsd, "G": r["ngate"], "tS": nsd, "tD": nsd, "tG": poly, "W": sub},
    )
    if with_pfet:
        psd = r["psd"]
        l2n.extract_devices(
            kdb.DeviceExtractorMOS4Transistor(pdk.PFET),
            {"SD": psd, "G": r["pgate"], "tS": psd, "tD": psd, "tG": poly, "W": nwell},
        )
        l2n.connect(nwell)
        l2n.connect(nwell, r["ntap_conn"])
        r["nwell"] = nwell

    metals = [r["met1_con"], r["met2_con"], r["met3_ncap"], r["met4_ncap"]]
    vias = [r["via1_con"], r["via2_con"], r["via3_ncap"]]
    for name, region in r.items():
        if name not in ("ngate", "pgate", "nwell"):
            l2n.connect(region)
    for sd in ("nsd", "ptap_conn", "psd", "ntap_conn"):
        if sd in r:
            contact = r[f"licon_{sd.removesuffix('_conn')}_con"]
            l2n.connect(r[sd], contact)
            l2n.connect(contact, r["li_con"])
    l2n.connect(poly, r["licon_poly_con"])
    l2n.connect(r["licon_poly_con"], r["li_con"])
    l2n.connect(r["li_con"], r["mcon_con"])
    l2n.connect(r["mcon_con"], metals[0])
    for lower, via, upper in zip(metals, vias, metals[1:], strict=False):
        l2n.connect(lower, via)
        l2n.connect(via, upper)
    for spec, name, conductor in LABELS:
        l2n.connect(r[conductor], l2n.make_text_layer(layout.layer(*spec), name))
    # p+ taps reach the nfet bodies through the substrate: one global net
    l2n.connect_global(sub, substrate_net)
    l2n.connect_global(r["ptap_conn"], substrate_net)
    return r
