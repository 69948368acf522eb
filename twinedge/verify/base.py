"""What a verification back-end returns, and what it must offer.

Three kinds, one :class:`typing.Protocol` each: a DRC back-end checks a GDS against the
PDK's rule decks (``run(gds, out_dir) -> DrcReport``), an LVS back-end compares a GDS with
the netlist its design implies (``run(design, gds, out_dir) -> LvsResult``), a PEX
back-end extracts a GDS's parasitics (``run(design, gds, out_dir) -> Extraction``, in
:mod:`twinedge.verify.pex`). Back-ends are found by name in :mod:`twinedge.verify`'s
registry. Every result has ``as_dict()``: what the stage writes as ``drc.json``,
``lvs.json`` or ``pex.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from twinedge.spec.schema import Design
    from twinedge.verify.pex import Extraction


@dataclass
class DeckResult:
    """One rule deck's run on one GDS."""

    name: str
    kind: str  # "sign-off" or "community" (see twinedge.pdk.base.DrcDeck)
    note: str
    deck: Path  # the deck as run (a patched copy where the PDK patches it)
    source: Path  # the deck as the PDK ships it
    report: Path  # KLayout report database (.lyrdb)
    rules: int  # distinct rule outputs in the deck
    by_rule: dict[str, int]  # violations per rule
    seconds: float
    log: list[str] = field(default_factory=list, repr=False)

    @property
    def violations(self) -> int:
        return sum(self.by_rule.values())

    @property
    def clean(self) -> bool:
        return self.violations == 0

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "note": self.note,
            "clean": self.clean,
            "violations": self.violations,
            "by_rule": dict(self.by_rule),
            "rules_in_deck": self.rules,
            "seconds": round(self.seconds, 2),
            "deck": str(self.deck),
            "source": str(self.source),
            "report": str(self.report),
        }


@dataclass
class DrcReport:
    """Every deck's result; clean only when every deck is."""

    gds: Path
    decks: list[DeckResult]
    tool: str = ""

    @property
    def clean(self) -> bool:
        return all(d.clean for d in self.decks)

    @property
    def violations(self) -> int:
        """Over all decks (a spot two decks flag counts twice)."""
        return sum(d.violations for d in self.decks)

    @property
    def by_rule(self) -> dict[str, int]:
        """Violations per rule over all decks (decks name their rules differently)."""
        out: dict[str, int] = {}
        for d in self.decks:
            for rule, n in d.by_rule.items():
                out[rule] = out.get(rule, 0) + n
        return dict(sorted(out.items()))

    @property
    def rules_checked(self) -> int:
        """Rule outputs run, over all decks."""
        return sum(d.rules for d in self.decks)

    @property
    def seconds(self) -> float:
        return sum(d.seconds for d in self.decks)

    @property
    def report(self) -> Path:
        """The first deck's report database (the sign-off deck's, where one ran)."""
        return self.decks[0].report

    def as_dict(self) -> dict:
        return {
            "clean": self.clean,
            "violations": self.violations,
            "by_rule": self.by_rule,
            "rules_in_decks": self.rules_checked,
            "seconds": round(self.seconds, 2),
            "gds": str(self.gds),
            "tool": self.tool,
            "decks": [d.as_dict() for d in self.decks],
        }


@dataclass
class LvsResult:
    match: bool
    layout_devices: int
    reference_devices: int
    layout_nets: int
    reference_nets: int
    extracted: Path
    reference: Path
    mismatches: list[str] = field(default_factory=list)
    tool: str = ""

    def as_dict(self) -> dict:
        return {
            "match": self.match,
            "layout_devices": self.layout_devices,
            "reference_devices": self.reference_devices,
            "layout_nets": self.layout_nets,
            "reference_nets": self.reference_nets,
            "mismatches": list(self.mismatches),
            "extracted": str(self.extracted),
            "reference": str(self.reference),
            "tool": self.tool,
        }


class DrcBackend(Protocol):
    name: str

    def run(self, gds: Path, out_dir: Path) -> DrcReport: ...


class LvsBackend(Protocol):
    name: str

    def run(self, design: Design, gds: Path, out_dir: Path) -> LvsResult: ...


class PexBackend(Protocol):
    name: str

    def run(self, design: Design, gds: Path, out_dir: Path) -> Extraction: ...
