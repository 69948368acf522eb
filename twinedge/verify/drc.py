"""DRC with the PDK's KLayout rule decks, run by the KLayout program in batch mode.

Every deck of :meth:`twinedge.pdk.base.Pdk.drc_decks` runs on the GDS: the foundry's
sign-off deck of an installed PDK (``$PDK_ROOT``) where there is one, and the fallback
deck from the package registry always. A deck the PDK patches (e.g. to switch a rule group
on) runs from a patched copy written next to the reports; its ``variables`` go to KLayout
as ``-rd name=value``. Results are read from each deck's ``.lyrdb`` report database (kept
for viewing in KLayout), never from the exit code alone.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from twinedge import processes, versions
from twinedge.verify.base import DeckResult, DrcReport

if TYPE_CHECKING:
    from twinedge.pdk.base import DrcDeck, Pdk

__all__ = [
    "DrcError",
    "KlayoutDrc",
    "count_rules",
    "deck_fingerprint",
    "deck_text",
    "klayout_program",
    "klayout_version",
    "parse_lyrdb",
    "prepare_deck",
    "run_drc",
]

_OUTPUT = re.compile(r"""\.output\(\s*["']([^"']+)["']""")


class DrcError(RuntimeError):
    pass


def klayout_program() -> str:
    exe = shutil.which("klayout")
    if exe is None:
        raise DrcError("the KLayout program is not installed (apt-get install klayout)")
    return exe


def klayout_version() -> str:
    """Version of the KLayout program that runs the DRC decks."""
    return versions.tool("klayout")


def deck_text(deck: DrcDeck) -> str:
    """The deck's text as it runs: the PDK's patches applied, each found exactly once."""
    text = deck.path.read_text(encoding="utf-8")
    for old, new in deck.patches:
        if text.count(old) != 1:
            raise DrcError(
                f"{deck.path}: expected exactly one '{old}' to patch, found {text.count(old)}"
            )
        text = text.replace(old, new)
    return text


def deck_fingerprint(pdk: Pdk) -> list[str]:
    """What identifies the decks a DRC run uses (for a stage's cache key): per deck its
    name and the SHA-256 of its text as run and of its variables."""
    out = []
    for deck in pdk.drc_decks():
        h = hashlib.sha256(deck_text(deck).encode())
        h.update(repr(sorted(deck.variables.items())).encode())
        out.append(f"{deck.name} sha256:{h.hexdigest()}")
    return out


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write unless the file holds these bytes already (a kept, read-only build folder)."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def prepare_deck(deck: DrcDeck, dest_dir: Path) -> Path:
    """The deck file to run: the PDK's own, or its patched copy in ``dest_dir``."""
    if not deck.patches:
        return deck.path
    dest = dest_dir / f"{deck.path.stem}.patched{deck.path.suffix}"
    _write_if_changed(dest, deck_text(deck).encode("utf-8"))
    return dest


def count_rules(deck: Path) -> int:
    """Number of distinct rule outputs in a deck (``.output("name", ...)``)."""
    return len(set(_OUTPUT.findall(deck.read_text(encoding="utf-8"))))


def parse_lyrdb(path: Path) -> dict[str, int]:
    """Violations per rule (category) in a KLayout report database."""
    root = ET.parse(path).getroot()
    counts: Counter[str] = Counter()
    for item in root.iter("item"):
        cat = item.findtext("category", default="?").strip().strip("'")
        counts[cat] += 1
    return dict(sorted(counts.items()))


def _top_cell(gds: Path) -> str:
    import klayout.db as kdb

    layout = kdb.Layout()
    layout.read(str(gds))
    return layout.top_cell().name


def _report_names(decks: list[DrcDeck], stem: str) -> list[str]:
    """``<gds>.<deck file stem>.lyrdb`` per deck (numbered if two decks share a stem)."""
    stems = [d.path.stem for d in decks]
    return [
        f"{stem}.{s}.lyrdb" if stems.count(s) == 1 else f"{stem}.{s}.{k}.lyrdb"
        for k, s in enumerate(stems)
    ]


# KLayout 0.28 now and then dies in a worker thread of a multi-threaded deck (SIGSEGV,
# reported as exit 11 or -11, in tl::Worker::run) on a layout it checks cleanly on the next
# run: such a crash (never a rule violation or a deck error) is retried, single-threaded
# where the deck takes a thread count (a clean-clone CI run once crashed twice in a row
# with two threads).
CRASH_RETRIES = 2
_CRASH_EXITS = {11, -11, 139, 6, -6, 134}  # SIGSEGV, SIGABRT: as a code, signal, shell 128+n


def _crashed(returncode: int) -> bool:
    return returncode in _CRASH_EXITS


def run_deck(
    deck: DrcDeck, gds: Path, out_dir: Path, report: Path, top: str, timeout_s: int = 3600
) -> DeckResult:
    """One deck on ``gds``; its report database is ``report``."""
    path = prepare_deck(deck, out_dir)
    report.unlink(missing_ok=True)
    variables = {
        "input": str(gds.resolve()),
        "top_cell": top,  # for decks that take it (the others ignore it)
        deck.report_variable: str(report.resolve()),
        **deck.variables,
    }
    cmd = [klayout_program(), "-b", "-r", str(path)]
    for name, value in variables.items():
        cmd += ["-rd", f"{name}={value}"]
    log: list[str] = []
    for attempt in range(1 + CRASH_RETRIES):
        t0 = time.perf_counter()
        try:
            proc = processes.run(cmd, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise DrcError(f"{deck.name} did not finish on {gds} in {timeout_s} s") from None
        seconds = time.perf_counter() - t0
        log += (proc.stdout + proc.stderr).splitlines()
        if not _crashed(proc.returncode) or attempt == CRASH_RETRIES:
            break
        report.unlink(missing_ok=True)
        log.append(f"twinedge: KLayout crashed (exit {proc.returncode}); running the deck again")
        if "thr" in deck.variables:  # the worker threads are what crashes
            cmd = [a if not a.startswith("thr=") else "thr=1" for a in cmd]
    if proc.returncode != 0 or not report.is_file():
        tail = " | ".join(line for line in log[-4:] if line.strip())
        raise DrcError(f"{deck.name} failed on {gds} (exit {proc.returncode}): {tail}")
    return DeckResult(
        name=deck.name,
        kind=deck.kind,
        note=deck.note,
        deck=path,
        source=deck.path,
        report=report,
        rules=count_rules(path),
        by_rule=parse_lyrdb(report),
        seconds=seconds,
        log=log,
    )


def run_drc(gds: Path, out_dir: Path, pdk: Pdk | None = None, timeout_s: int = 3600) -> DrcReport:
    """Every DRC deck of ``pdk`` (default: the active PDK) on ``gds``; reports and patched
    decks go to ``out_dir``."""
    if pdk is None:
        from twinedge.pdk import active

        pdk = active()
    decks = pdk.drc_decks()
    if not decks:
        raise DrcError(f"PDK {pdk.name} has no DRC deck")
    out_dir.mkdir(parents=True, exist_ok=True)
    top = _top_cell(gds)
    results = [
        run_deck(deck, gds, out_dir, out_dir / report, top, timeout_s)
        for deck, report in zip(decks, _report_names(decks, gds.stem), strict=True)
    ]
    return DrcReport(gds=gds, decks=results, tool=klayout_version())


class KlayoutDrc:
    """The DRC back-end: the PDK's KLayout decks, run by the KLayout program."""

    name = "klayout"

    def __init__(self, pdk: Pdk) -> None:
        self.pdk = pdk

    def run(self, gds: Path, out_dir: Path) -> DrcReport:
        return run_drc(gds, out_dir, self.pdk)
