"""Deterministic GDS output.

No KLayout context records (Debian's KLayout 0.28 cannot read 0.30's), no metadata, and
fixed timestamps, so the same spec writes a byte-identical file.
"""

from __future__ import annotations

from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb


def save_options() -> kdb.SaveLayoutOptions:
    opts = kdb.SaveLayoutOptions()
    opts.format = "GDS2"
    opts.write_context_info = False
    opts.gds2_write_timestamps = False
    opts.gds2_write_cell_properties = False
    opts.gds2_write_file_properties = False
    return opts


def write_gds(component: gf.Component, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return component.write_gds(path, save_options=save_options(), with_metadata=False)
