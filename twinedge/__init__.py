"""twinedge: compile learning metamaterials from a YAML spec to trained, verified hardware."""

__version__ = "0.1.0"
