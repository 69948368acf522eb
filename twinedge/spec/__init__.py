"""Design spec: schema, loading, one-line errors."""

from twinedge.spec.errors import SpecError
from twinedge.spec.loader import Dataset, LoadedSpec, load_spec, load_spec_text
from twinedge.spec.schema import Design

__all__ = ["Dataset", "Design", "LoadedSpec", "SpecError", "load_spec", "load_spec_text"]
