"""The bias generator (:mod:`twinedge.circuits.bias`): its strings sized to the targets with
the PDK's models, then characterised.

Sizing: each string's node rises with the PMOS/NMOS width ratio r. One deck of strings over
a log grid of r brackets every target; a second deck over the bracket, at widths on the
manufacturing grid, picks the closest. Characterisation of the sized generator:

* its biases at the five corners (the process moves each diode's Vgs);
* Monte Carlo (the PDK's local mismatch): :data:`MC_N` generators in one deck, each device
  its own draw: sigma per bias (one generator per chip, so this is chip-to-chip spread);
* output resistance: each bias's move under :data:`PROBE_A` drawn from it;
* the supply current (the strings' static power).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import CharacterisationError, model_header, run_ngspice
from twinedge.circuits.bias import (
    BIASES,
    PORTS,
    SUBCKT,
    BiasSizing,
    BiasString,
    subckt,
)
from twinedge.pdk import Pdk

CORNERS = ("tt", "ff", "ss", "sf", "fs")
MAX_WORKERS = 2  # decks side by side (at most processes.jobs())
MC_N = 16
PROBE_A = 100e-9
R_MAX = 64.0  # widest ratio either way (the wider device up to R_MAX x the narrow one)
# (NMOS diodes in the string, their length um): the forms a string may take, lowest first
FAMILIES = ((1, 1.0), (1, 4.0), (1, 16.0), (2, 4.0), (2, 16.0))
# the lowest form with a longer PMOS diode, tried only for a bias below every form above
LONG_PMOS = (16.0, 40.0)
SUPPLY_WITHIN = 1e-6  # a target this close to VDD is the supply
W_MAX = 100.0  # um: the widest diode (the PDK's models are binned up to ~100 um)
TOLERANCE_V = 1e-3  # the sized string's node from its target
MARGIN_V = 0.02  # a target this far inside a string's range (corners move it)


@dataclass(frozen=True)
class BiasTargets:
    vbp: float
    vcn: float
    vcp: float
    vfloor: float
    vbe: float
    vcalb: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BiasCharacterisation:
    strings: list[dict]  # BiasString fields, sized
    sizing: dict
    nominal_v: dict[str, float]
    error_v: dict[str, float]  # nominal - target
    corners_v: dict[str, dict[str, float]]  # corner -> bias -> V
    mc_sigma_v: dict[str, float]
    r_out_ohm: dict[str, float]
    power_w: float

    def as_dict(self) -> dict:
        return asdict(self)

    def sized(self) -> tuple[BiasString, ...]:
        return tuple(BiasString(**s) for s in self.strings)


def _widths(r: float, grid: float, base: float = 1.0) -> tuple[float, float]:
    """(p_w, n_w): the narrower device ``base`` um, the other r (or 1/r) times it, on
    ``grid``."""
    p, n = (r * base, base) if r >= 1 else (base, base / r)
    return round(round(p / grid) * grid, 6), round(round(n / grid) * grid, 6)


def _string_op(
    pdk: Pdk, widths: list[tuple[float, float]], length: float, family: tuple[int, float],
    vdd: float | None = None,
) -> np.ndarray:  # fmt: skip
    """Each string's node voltage (tt, no mismatch), from ``vdd`` (the PDK's supply)."""
    vdd = pdk.vdd if vdd is None else vdd
    lines = [model_header(pdk, "tt", None, "twinedge bias strings").rstrip("\n"),
             f"Vvdd vdd 0 {vdd!r}"]  # fmt: skip
    n_stack, n_l = family
    for i, (p_w, n_w) in enumerate(widths):
        lines.append(f"XP{i} o{i} o{i} vdd vdd {pdk.pfet} w={p_w!r} l={length!r}")
        top = f"o{i}"
        for k in range(n_stack):
            below = "0" if k == n_stack - 1 else f"o{i}_{k}"
            lines.append(f"XN{i}_{k} {top} {top} {below} 0 {pdk.nfet} w={n_w!r} l={n_l!r}")
            top = below
    probes = [f"print v(o{i})" for i in range(len(widths))]
    lines += [".control", "set numdgt=10", "op", *probes, "quit 0", ".endc", ".end"]
    return _printed(run_ngspice("\n".join(lines) + "\n"), "o", len(widths))


def _printed(out: str, prefix: str, n: int) -> np.ndarray:
    found = re.findall(rf"^v\({prefix}(\d+)\)\s*=\s*(\S+)", out, flags=re.M)
    v = np.full(n, np.nan)
    for i, x in found:
        v[int(i)] = float(x)
    assert not np.isnan(v).any(), f"ngspice printed {len(found)} of {n} voltages"
    return v


def size_strings(
    pdk: Pdk, targets: BiasTargets | dict[str, float], s: BiasSizing | None = None,
    vdd: float | None = None,
) -> tuple[BiasString, ...]:  # fmt: skip
    """Each bias's string, sized to its target (or the supply), in the :data:`FAMILIES`
    form that needs the ratio nearest to 1 (the smallest devices). ``targets``: the bias
    generator's (:class:`BiasTargets`), or any nets' (a dict, e.g. a rail buffer's bias);
    ``vdd``: the strings' supply (the PDK's circuits' by default)."""
    s = s or BiasSizing()
    vdd = pdk.vdd if vdd is None else vdd
    bases = sorted({s.base_w, s.calb_base_w})
    coarse = {b: np.geomspace(1 / min(R_MAX, W_MAX / b), min(R_MAX, W_MAX / b), 61) for b in bases}
    keys = [(f, b) for f in FAMILIES for b in bases]
    ops = processes.parallel(
        lambda k: _string_op(
            pdk, [_widths(r, pdk.grid_um, k[1]) for r in coarse[k[1]]], s.l, k[0], vdd
        ),
        keys, min(MAX_WORKERS, processes.jobs()),
    )  # fmt: skip
    ranges = dict(zip(keys, ops, strict=True))
    want = targets if isinstance(targets, dict) else targets.as_dict()
    # a form: (NMOS diodes, their length, the PMOS's length)
    fine: dict[str, tuple[tuple[int, float, float], list[tuple[float, float]]]] = {}
    for net in want:
        t = want[net]
        if t >= vdd - SUPPLY_WITHIN:
            continue
        base = s.calb_base_w if net == "vcalb" else s.base_w

        def inside(v: np.ndarray, t: float = t, base: float = base) -> float | None:
            if not v.min() + MARGIN_V < t < v.max() - MARGIN_V:
                return None
            order = np.argsort(v)
            return float(np.exp(np.interp(t, v[order], np.log(coarse[base][order]))))

        ratio = {(*f, s.l): r for f in FAMILIES if (r := inside(ranges[(f, base)])) is not None}
        low = min(ranges[(f, base)].min() for f in FAMILIES) + MARGIN_V
        for p_l in LONG_PMOS if not ratio and t <= low else ():
            key = (FAMILIES[0], base, p_l)
            if key not in ranges:  # only a design that needs it pays for it
                widths = [_widths(r, pdk.grid_um, base) for r in coarse[base]]
                try:
                    ranges[key] = _string_op(pdk, widths, p_l, FAMILIES[0], vdd)
                except CharacterisationError:  # the PDK's models have no bin that long
                    continue
            if (r := inside(ranges[key])) is not None:
                ratio[(*FAMILIES[0], p_l)] = r
                break
        if not ratio:
            lo = min(v.min() for v in ranges.values())
            hi = max(v.max() for v in ranges.values())
            raise ValueError(f"bias {net} = {t} V is outside what a string makes here "
                             f"({lo + MARGIN_V:.3f} .. {hi - MARGIN_V:.3f} V)")  # fmt: skip
        f = min(ratio, key=lambda k: abs(np.log(ratio[k])))
        r = ratio[f]
        cand = {_widths(x, pdk.grid_um, base) for x in np.geomspace(r / 1.15, r * 1.15, 41)}
        fine[net] = (f, sorted(cand))
    forms = sorted({g for g, _ in fine.values()})
    measured = {
        f: _string_op(pdk, [w for g, c in fine.values() if g == f for w in c], f[2], f[:2], vdd)
        for f in forms
    }
    at = dict.fromkeys(measured, 0)
    out = []
    for net in want:
        if net not in fine:
            out.append(BiasString(net, want[net]))
            continue
        f, cand = fine[net]
        v = measured[f][at[f] : at[f] + len(cand)]
        at[f] += len(cand)
        best = int(np.argmin(np.abs(v - want[net])))
        if abs(v[best] - want[net]) > TOLERANCE_V:
            raise ValueError(f"bias {net}: the closest string makes {v[best]:.4f} V, not "
                             f"{want[net]:.4f} V")  # fmt: skip
        p_l = None if f[2] == s.l else f[2]
        out.append(BiasString(net, want[net], *cand[best], n_stack=f[0], n_l=f[1], p_l=p_l))
    return tuple(out)


def _generators_op(
    pdk: Pdk,
    strings: tuple[BiasString, ...],
    s: BiasSizing,
    corner: str,
    copies: int,
    mismatch_seed: int | None = None,
    probe: bool = False,
) -> tuple[np.ndarray, float]:
    """((copies, biases) voltages, supply power of one generator); ``probe``: each bias
    also sources PROBE_A out (for the output resistance)."""
    lines = [model_header(pdk, corner, mismatch_seed, "twinedge bias generator").rstrip("\n"),
             subckt(pdk, strings, s).rstrip("\n"), f"Vvdd vdd 0 {pdk.vdd!r}"]  # fmt: skip
    for c in range(copies):
        nets = {b: f"{b}{c}" for b in BIASES}
        lines.append(f"X{c} {' '.join(nets.get(p, p) for p in PORTS)} {SUBCKT}")
        if probe:
            lines += [f"I{b}{c} {b}{c} 0 {PROBE_A!r}" for b in BIASES]
    probes = [f"print v({b}{c})" for c in range(copies) for b in BIASES]
    lines += [".control", "set numdgt=10", "op", *probes, "print i(vvdd)", "quit 0", ".endc",
              ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    v = np.array(
        [[float(re.search(rf"^v\({b}{c}\)\s*=\s*(\S+)", out, re.M).group(1)) for b in BIASES]
         for c in range(copies)]
    )  # fmt: skip
    i = float(re.search(r"^i\(vvdd\)\s*=\s*(\S+)", out, re.M).group(1))
    return v, pdk.vdd * -i / copies


def characterise_bias(
    pdk: Pdk, targets: BiasTargets, s: BiasSizing | None = None
) -> BiasCharacterisation:
    s = s or BiasSizing()
    strings = size_strings(pdk, targets, s)
    nominal, power = _generators_op(pdk, strings, s, "tt", 1)
    loaded, _ = _generators_op(pdk, strings, s, "tt", 1, probe=True)
    runs = processes.parallel(lambda c: _generators_op(pdk, strings, s, c, 1)[0][0], CORNERS,
                              min(MAX_WORKERS, processes.jobs()))  # fmt: skip
    corners = dict(zip(CORNERS, runs, strict=True))
    mc, _ = _generators_op(pdk, strings, s, "tt", MC_N, mismatch_seed=1)
    want = targets.as_dict()
    name = list(BIASES)
    return BiasCharacterisation(
        strings=[asdict(b) for b in strings],
        sizing=s.as_dict(),
        nominal_v=dict(zip(name, nominal[0].tolist(), strict=True)),
        error_v={b: float(nominal[0][k] - want[b]) for k, b in enumerate(name)},
        corners_v={c: dict(zip(name, v.tolist(), strict=True)) for c, v in corners.items()},
        mc_sigma_v=dict(zip(name, mc.std(axis=0, ddof=1).tolist(), strict=True)),
        r_out_ohm={b: float((nominal[0][k] - loaded[0][k]) / PROBE_A) for k, b in enumerate(name)},
        power_w=power,
    )
