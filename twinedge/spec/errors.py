"""One-line, user-facing spec errors.

Every way a spec can be wrong ends up as a :class:`SpecError` whose ``str`` is a single line:
``FILE: FIELD.PATH: what is wrong (got VALUE; allowed: ...)``. The CLI prints it and exits 2.

The line is short whatever the input: every piece is cut to a bounded length, and a value is
shortened while it is rendered (:class:`_BoundedRepr`), never by cutting down a full ``repr``,
which for a hostile value (a 1 MB string, a list shared 10^9 times through YAML aliases)
would take minutes and gigabytes before it could be cut.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

MAX_LINE = 300  # characters of an error line (the message, cut in the middle beyond it)
_FILE, _PATH, _MESSAGE, _VALUE, _ALLOWED, _KEY = 100, 80, 120, 60, 100, 24


class _BoundedRepr(reprlib.Repr):
    """``reprlib`` renders a few items of a container, a few levels deep, and the first
    characters of a string: its cost does not grow with the value. Integers and bytes are
    bounded too (reprlib renders them whole; Python refuses to print ints over 4,300 digits).
    """

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 3, _VALUE, _VALUE
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 6
        self.maxdict = 4

    def repr_int(self, x: int, level: int) -> str:
        return super().repr_int(x, level) if x.bit_length() <= 128 else "<a huge integer>"

    def repr_bytes(self, x: bytes, level: int) -> str:
        return repr(x[: self.maxstring]) + ("..." if len(x) > self.maxstring else "")


_REPR = _BoundedRepr()


def clip(text: str, limit: int) -> str:
    """``text`` on one line in at most ``limit`` characters (the middle cut out: the start and
    the end of a path or a message say the most). Only a bounded slice is ever copied."""
    if len(text) > 4 * limit:
        text = text[: 2 * limit] + " " + text[-2 * limit :]
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = (limit - 3) * 2 // 3
    return text[:head] + "..." + text[len(text) - (limit - 3 - head) :]


def field_path(loc: Iterable[Any]) -> str:
    """``("pins", "inputs", "V1", 0)`` -> ``pins.inputs.V1[0]``; a long key is shortened."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":  # pydantic: the dict key itself failed, not its value
            out += "[key]"
        else:
            out += ("." if out else "") + clip(str(part), _KEY)
    return out or "<top>"


def _short(value: Any, limit: int = _VALUE) -> str:
    return clip(_REPR.repr(value), limit)


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
            details.append(f"allowed: {clip(str(self.allowed), _ALLOWED)}")
        text = f"{clip(self.path, _PATH)}: {clip(self.message, _MESSAGE)}"
        if details:
            text += f" ({'; '.join(details)})"
        if self.extra:
            text += f" [+{self.extra} more error{'s' if self.extra > 1 else ''}]"
        file = clip(self.file, _FILE)
        return f"{file}: {clip(text, MAX_LINE - len(file) - 2)}"  # one line, bounded

    @classmethod
    def from_validation(cls, file: str, exc: ValidationError) -> SpecError:
        """The first pydantic error, with the count of the others."""
        errors = exc.errors(include_url=False)
        # Prefer the most specific location: discriminated unions report the tag first; a
        # plain union (a number or a mapping) one error per member, and the member that got
        # deeper into the value is the one the user meant.
        first = errors[0]
        loc = _drop_union_tags(first["loc"])
        deeper = [e for e in errors[1:] if _drop_union_tags(e["loc"])[: len(loc)] == loc]
        first = max([first, *deeper], key=lambda e: len(_drop_union_tags(e["loc"])))
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
