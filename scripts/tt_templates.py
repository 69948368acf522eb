"""Turn TinyTapeout's tile template DEFs into twinedge's tile data (run by a developer when
the templates change; twinedge itself reads only the JSON it writes).

    python scripts/tt_templates.py ../shared/reference/tinytapeout
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from twinedge.pdk.tinytapeout import DATA, Tile, as_json, parse_def

# (PDK, DEF folder, file pattern: tile name and supply variant, the supply without a variant)
# GF180MCU's tiles are digital blocks on a 3.3 V supply (TinyTapeout's GF180 flow times its
# standard cells at 3.3 V: tt-support-tools' tech.py, LIB_SYNTH ..._tt_025C_3v30.lib).
SOURCES = (
    ("sky130A", "sky130A/analog", re.compile(r"tt_analog_(\d+x\d+)(_3v3)?\.def"), "1v8"),
    ("gf180mcuD", "gf180mcuD/def", re.compile(r"tt_block_(\d+x\d+)_pgvdd()\.def"), "3v3"),
)


def main(root: Path) -> None:
    commit = (root / "README.md").read_text()
    found = re.search(r"commit ([0-9a-f]{7,40})", commit)
    source = "TinyTapeout/tt-support-tools" + (f" @ {found.group(1)}" if found else "")
    for pdk, folder, pattern, plain in SOURCES:
        out = []
        for path in sorted((root / folder).glob("*.def")):
            m = pattern.fullmatch(path.name)
            if not m:
                continue
            (w, h), pins = parse_def(path.read_text())
            supply = "3v3" if m.group(2) else plain
            out.append(Tile(m.group(1), path.stem, w, h, supply, tuple(pins)))
        target = DATA / f"tinytapeout_{pdk}.json"
        target.write_text(as_json(source, out))
        print(f"{target}: {len(out)} tiles")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
