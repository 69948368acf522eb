"""Layout stage: spec -> GDS, a PNG render and an area report in build/<design>/layout/."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from twinedge import pdk as pdks
from twinedge.artifacts import staged_outputs
from twinedge.cells.array import AreaReport, area_report, compile_array
from twinedge.cells.gds import write_gds
from twinedge.pdk import Pdk
from twinedge.spec.schema import Design


class LayoutError(RuntimeError):
    pass


@dataclass
class LayoutResult:
    gds: Path
    png: Path
    area: AreaReport
    seconds: float


def render_png(gds: Path, png: Path, pdk: Pdk, size: int = 1400) -> None:
    """KLayout's own renderer (the ``klayout`` package's LayoutView) with the PDK's layer
    colours, boundary layer hidden."""
    import klayout.lay as lay

    view = lay.LayoutView()
    view.load_layout(str(gds), True)
    view.load_layer_props(str(pdk.layer_properties()))
    view.max_hier()
    it = view.begin_layers()
    while not it.at_end():
        props = it.current()
        if (props.source_layer, props.source_datatype) == pdk.layer("PR_BOUNDARY"):
            props.visible = False
            view.set_layer_properties(it, props)
        it.next()
    view.zoom_fit()
    view.save_image(str(png), size, size)


def load_layout(design: Design, out_dir: Path) -> LayoutResult:
    """The layout stage's outputs in ``out_dir`` (the stage decides whether they are
    current)."""
    data = json.loads((out_dir / "area.json").read_text())
    data.pop("seconds", None)
    data["bbox_um"] = tuple(data["bbox_um"])
    return LayoutResult(
        gds=out_dir / f"{design.name}.gds",
        png=out_dir / "layout.png",
        area=AreaReport(**data),
        seconds=0.0,
    )


def run_layout(design: Design, out_dir: Path) -> LayoutResult:
    if design.pdk not in pdks.REGISTRY:
        raise LayoutError(
            f"no layout generator for pdk '{design.pdk}' yet (have: {', '.join(pdks.names())})"
        )
    t0 = time.perf_counter()
    top = compile_array(design)
    area = area_report(design, top)
    with staged_outputs(out_dir) as tmp:
        gds = write_gds(top, tmp / f"{design.name}.gds")
        render_png(gds, tmp / "layout.png", pdks.get(design.pdk))
        (tmp / "area.json").write_text(json.dumps(area.as_dict(), indent=1))
    return LayoutResult(
        gds=out_dir / f"{design.name}.gds",
        png=out_dir / "layout.png",
        area=area,
        seconds=time.perf_counter() - t0,
    )
