"""One-line, user-facing spec errors.

Every way a spec can be wrong ends up as a :class:`SpecError` whose ``str`` is a single line:
``FILE: FIELD.PATH: what is wrong (got VALUE; allowed: ...)``. The CLI prints it and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError


def field_path(loc: Iterable[Any]) -> str:
    """``("pins", "inputs", "V1", 0)`` -> ``pins.inputs.V1[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top>"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SpecError(Exception):
    """A spec problem located at ``path`` inside ``file``."""

    def __init__(
        self,
        file: str,
        path: str,
        message: str,
        value: Any = ...,
        allowed: str | None = None,
        extra: int = 0,
    ) -> None:
        self.file, self.path, self.message = file, path, message
        self.value, self.allowed, self.extra = value, allowed, extra
        super().__init__(str(self))

    def __str__(self) -> str:
        details = []
        if self.value is not ...:
            details.append(f"got {_short(self.value)}")
        if self.allowed:
            details.append(f"allowed: {self.allowed}")
        text = f"{self.file}: {self.path}: {self.message}"
        if details:
            text += f" ({'; '.join(details)})"
        if self.extra:
            text += f" [+{self.extra} more error{'s' if self.extra > 1 else ''}]"
        return " ".join(text.split())  # guarantee one line

    @classmethod
    def from_validation(cls, file: str, exc: ValidationError) -> SpecError:
        """The first pydantic error, with the count of the others."""
        errors = exc.errors(include_url=False)
        # Prefer the most specific location: discriminated unions report the tag first.
        first = errors[0]
        loc = _drop_union_tags(first["loc"])
        message = first["msg"]
        kind = first["type"]
        allowed = None
        value: Any = first.get("input", ...)
        if kind == "extra_forbidden":
            message = "unknown field"
            value = ...
        elif kind == "missing":
            message = "required field is missing"
            value = ...
        elif kind == "union_tag_invalid":
            ctx = first.get("ctx") or {}
            loc = [*loc, str(ctx.get("discriminator", "")).strip("'")]
            value, allowed = ctx.get("tag", ...), ctx.get("expected_tags")
            message = "value not allowed"
        elif kind == "union_tag_not_found":
            ctx = first.get("ctx") or {}
            loc = [*loc, str(ctx.get("discriminator", "")).strip("'")]
            message, value = "required field is missing", ...
        elif kind == "literal_error":
            allowed = (first.get("ctx") or {}).get("expected")
            message = "value not allowed"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        extra = len(errors) - 1
        # a plain union with a literal member (e.g. a number or 'auto'): one message
        same = [e for e in errors[1:] if _drop_union_tags(e["loc"]) == loc]
        literal = next((e for e in same if e["type"] == "literal_error"), None)
        if literal is not None and kind != "literal_error":
            expected = (literal.get("ctx") or {}).get("expected")
            allowed = f"{expected}, or a number: {message[0].lower()}{message[1:]}"
            message, extra = "value not allowed", extra - len(same)
        return cls(file, field_path(loc), message, value, allowed, extra=extra)


_UNION_FIELDS = {
    ("network",),
    ("cell",),
    ("task",),
    ("pins", "output"),
    ("training", "g_init"),
    ("cell", "update", "calb_high"),
}


def _drop_union_tags(loc: Iterable[Any]) -> list[Any]:
    """pydantic puts the chosen union member (tag value or class name) into ``loc`` right after
    the union field; users never wrote it, so it is dropped from the field path."""
    out: list[Any] = []
    skip = False
    for part in loc:
        if skip:
            skip = False
            continue
        out.append(part)
        skip = tuple(out) in _UNION_FIELDS
    return out
