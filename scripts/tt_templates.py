"""Turn TinyTapeout's tile template DEFs into twinedge's tile data (run by a developer when
the templates change; twinedge itself reads only the JSON it writes).

    python scripts/tt_templates.py ../shared/reference/tinytapeout
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from twinedge.pdk.tinytapeout import DATA, Tile, as_json, parse_def

# (PDK, DEF folder, file pattern: tile name and supply variant)
SOURCES = (("sky130A", "sky130A/analog", re.compile(r"tt_analog_(\d+x\d+)(_3v3)?\.def")),)


def main(root: Path) -> None:
    commit = (root / "README.md").read_text()
    found = re.search(r"commit ([0-9a-f]{7,40})", commit)
    source = "TinyTapeout/tt-support-tools" + (f" @ {found.group(1)}" if found else "")
    for pdk, folder, pattern in SOURCES:
        out = []
        for path in sorted((root / folder).glob("*.def")):
            m = pattern.fullmatch(path.name)
            if not m:
                continue
            (w, h), pins = parse_def(path.read_text())
            supply = "3v3" if m.group(2) else "1v8"
            out.append(Tile(m.group(1), path.stem, w, h, supply, tuple(pins)))
        target = DATA / f"tinytapeout_{pdk}.json"
        target.write_text(as_json(source, out))
        print(f"{target}: {len(out)} tiles")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
