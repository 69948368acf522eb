"""Decks that load only the model bins their devices use.

Why: a PDK's MOSFET is a subcircuit holding every size bin (SKY130's ``nfet_01v8``: 48
``.model`` cards with parameter expressions), and ngspice expands all of them for every
instance. On the chip's decks that expansion, not the simulation, was the cost: 290 s of
the schematic chip deck's 20 ns probe went into "subckt and param expansion" (489
instances), and the extracted tile's 1,486 instances took longer still.

:func:`specialise` gives each device size of a deck its own copy of the subcircuit with
only the bins whose range holds that size (a relative tolerance keeps both bins at a
boundary), so ngspice picks the bin it would have picked among all of them: the same
model, the same numbers. Devices whose size is an expression keep the full subcircuit.
Local-mismatch libraries (``MC_MM_SWITCH=1``) are left alone: their ``AGAUSS`` draws
follow the expansion order. Every ngspice run goes through it
(:func:`twinedge.spice.deck.run_deck`); a library is parsed once per process.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

TOLERANCE = 1e-3  # relative: a size this close to a bin's edge keeps both neighbours
SCALE = 1e-6  # the decks' ``.option scale=1u``: instance sizes in um, bins in metres
_LIB = re.compile(r"^\.lib\s+(\S+)\s+(\S+)\s*$", re.M | re.I)
_BOUNDS = ("lmin", "lmax", "wmin", "wmax")
_RANGE = {k: re.compile(rf"\b{k}\s*=\s*([-+0-9.eE]+)", re.I) for k in _BOUNDS}
_MISMATCH = re.compile(r"\bMC_MM_SWITCH\s*=\s*1\b", re.I)


@dataclass
class _Subckt:
    head: list[str] = field(default_factory=list)  # .subckt, .param and instance lines
    bins: list[list[str]] = field(default_factory=list)  # one .model card per bin
    tail: list[str] = field(default_factory=list)  # up to .ends


def _parse(text: str) -> dict[str, _Subckt]:
    """The library's binned subcircuits by name."""
    subckts: dict[str, _Subckt] = {}
    cur: _Subckt | None = None
    part = "head"
    for line in text.splitlines():
        word = line.split()[:1]
        if word and word[0].lower() == ".subckt":
            cur, part = _Subckt([line]), "head"
            subckts[line.split()[1]] = cur
        elif cur is None:
            continue
        elif word and word[0].lower() == ".model":
            cur.bins.append([line])
            part = "bin"
        elif part == "bin" and line.startswith("+"):
            cur.bins[-1].append(line)
        else:
            part = "tail" if cur.bins else "head"
            getattr(cur, part).append(line)
            if word and word[0].lower() == ".ends":
                cur = None
    return {k: s for k, s in subckts.items() if s.bins}


def _fits(card: list[str], length_m: float, width_m: float) -> bool:
    text = " ".join(line.lstrip("+") for line in card)
    r = {k: float(m.group(1)) for k, p in _RANGE.items() if (m := p.search(text))}
    if len(r) < 4:
        return True  # an unbinned card: keep it
    lo, hi = 1 - TOLERANCE, 1 + TOLERANCE
    return (r["lmin"] * lo <= length_m <= r["lmax"] * hi
            and r["wmin"] * lo <= width_m <= r["wmax"] * hi)  # fmt: skip


def _sized_name(model: str, length: float, width: float) -> str:
    return f"{model}__l{length:g}_w{width:g}".replace(".", "p").replace("-", "m")


def _literal_size(tokens: list[str]) -> tuple[float, float] | None:
    params = dict(t.split("=", 1) for t in tokens if "=" in t)
    try:
        return float(params["l"]), float(params["w"])
    except (KeyError, ValueError):
        return None


@cache
def _library(path: Path, mtime_ns: int) -> tuple[str, dict[str, _Subckt]]:
    """A library's text and binned subcircuits (none for a local-mismatch library)."""
    body = path.read_text()
    return body, ({} if _MISMATCH.search(body) else _parse(body))


@cache
def _sized_library(
    path: Path, mtime_ns: int, sizes: tuple[tuple[str, str, float, float], ...]
) -> Path:
    """The library with a copy of each (name, model, l, w) subcircuit holding only its bins,
    written once beside it under a name from its content."""
    body, subckts = _library(path, mtime_ns)
    extra = []
    for name, model, length, width in sizes:
        s = subckts[model]
        cards = [c for c in s.bins if _fits(c, length * SCALE, width * SCALE)]
        extra += [s.head[0].replace(model, name, 1), *s.head[1:]]
        extra += [line for c in cards for line in c]
        extra += [ln.replace(model, name, 1) if ln.lower().startswith(".ends") else ln
                  for ln in s.tail]  # fmt: skip
    lines = body.splitlines()
    end = max(i for i, ln in enumerate(lines) if ln.lower().startswith(".endl"))
    text = "\n".join([*lines[:end], *extra, *lines[end:]]) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    target = path.with_name(f"{path.name.removesuffix('.lib.spice')}__bins_{digest}.lib.spice")
    if not target.exists():
        # threads of one process may write the same library at once: each its own temporary
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        tmp.write_text(text)
        tmp.replace(target)  # atomic: a reader never sees half a library
    return target


def specialise(deck: str) -> str:
    """``deck`` with each literal-sized instance of a binned library subcircuit on a copy
    holding only its bins; unchanged when the deck loads no such library."""
    m = _LIB.search(deck)
    if not m or not Path(m.group(1)).is_file():
        return deck
    lib = Path(m.group(1))
    mtime = lib.stat().st_mtime_ns
    _, subckts = _library(lib, mtime)
    if not subckts:
        return deck
    sizes: dict[str, tuple[str, float, float]] = {}
    out = []
    for line in deck.splitlines():
        tokens = line.split()
        model = next((t for t in tokens[1:] if t in subckts), None)
        size = _literal_size(tokens) if model and tokens[0][0] in "xX" else None
        if model and size:
            name = _sized_name(model, *size)
            sizes[name] = (model, *size)
            line = " ".join(name if t == model else t for t in tokens)
        out.append(line)
    if not sizes:
        return deck
    key = tuple((k, *v) for k, v in sorted(sizes.items()))
    target = _sized_library(lib, mtime, key)
    if not target.exists():  # removed since this process wrote it
        _sized_library.cache_clear()
        target = _sized_library(lib, mtime, key)
    return "\n".join(out).replace(str(lib), str(target), 1) + "\n"
