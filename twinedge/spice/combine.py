"""Parallel transistors of an extracted netlist combined into one instance with ``m=``.

An extractor writes each finger as its own device, where a schematic writes one instance
with a multiplier. For ngspice that is costly: every BSIM4 instance carries internal nodes
(SKY130's FETs have five: the source and drain series resistances and the ``rbodymod=1``
body network), so the chip tile's 1,486 fingers made a 7,926-equation matrix where its
975 distinct devices make 5,371, and a step of the post-layout chip transient took half
the time once combined, with every G the same to 1e-10 V.

Combining is exact: fingers with the same gate, bulk, model and parameters between the
same two nets are one device ``m`` times, and the junction terms (``as ad ps pd``) are
linear in area and perimeter, so the group's mean per instance carries their sum. A
finger drawn with source and drain the other way round joins with its junctions swapped
(only a device with junction parameters, a MOSFET, is taken as symmetric: a four-terminal
bipolar's collector and emitter are not). Instances that differ in anything else, or whose
junction or ``m`` values are expressions, stay apart.
"""

from __future__ import annotations

from collections import defaultdict

JUNCTIONS = ("as", "ad", "ps", "pd")
_SWAPPED = {"as": "ad", "ad": "as", "ps": "pd", "pd": "ps"}


def _split(tokens: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """(nodes and model, parameters) of a four-terminal subcircuit call, else None."""
    head, rest = tokens[1:6], tokens[6:]
    if tokens[0][:1] not in "Xx" or len(head) < 5 or any("=" in t for t in head):
        return None
    if not all("=" in t for t in rest):
        return None
    params = dict(t.lower().split("=", 1) for t in rest)
    if not all(_is_number(params[k]) for k in (*JUNCTIONS, "m") if k in params):
        return None
    return head, params


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def combine_parallel(statements: list[list[str]]) -> list[list[str]]:
    """``statements`` (tokenised) with parallel four-terminal devices (``X d g s b model
    k=v ...``) merged into their group's first instance, ``m`` the group's total; every
    other statement unchanged, in order."""
    groups: dict[tuple, list[tuple[int, bool, dict[str, str]]]] = defaultdict(list)
    first: dict[int, tuple] = {}
    for i, tokens in enumerate(statements):
        split = _split(tokens)
        if split is None:
            continue
        (d, g, s, b, model), params = split
        rest = tuple(sorted((k, v) for k, v in params.items() if k not in (*JUNCTIONS, "m")))
        symmetric = any(k in params for k in JUNCTIONS)
        ends = (min(d, s), max(d, s)) if symmetric else (d, s)
        key = (*ends, g, b, model.lower(), rest)
        if key not in groups:
            first[i] = key
        groups[key].append((i, symmetric and d > s, params))
    members = {i for key in groups.values() for i, _, _ in key}
    out = []
    for i, tokens in enumerate(statements):
        if i not in members:
            out.append(tokens)
        elif i in first:
            out.append(_merged(tokens, groups[first[i]]))
    return out


def _merged(tokens: list[str], group: list[tuple[int, bool, dict[str, str]]]) -> list[str]:
    if len(group) == 1:
        return tokens
    _, flipped0, params0 = group[0]
    total_m = 0.0
    sums = dict.fromkeys(JUNCTIONS, 0.0)
    for _, flipped, params in group:
        m = float(params.get("m", 1))
        total_m += m
        for k in JUNCTIONS:
            src = _SWAPPED[k] if flipped != flipped0 else k
            sums[k] += m * float(params.get(src, 0))
    params = dict(params0)
    for k in JUNCTIONS:
        if k in params0 or sums[k]:
            params[k] = repr(sums[k] / total_m)
    params["m"] = f"{total_m:g}"
    return [*tokens[:6], *(f"{k}={v}" for k, v in params.items())]
