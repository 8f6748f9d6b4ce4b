"""Styled terminal text for the ``rad stats`` renderers, without importing rich.

`Styled` holds what a `rich.text.Text` holds for the operations the renderers use — the
characters, a base style, and styled spans — and builds the same spans the same way, so that
`Styled.to_rich` gives a ``Text`` that prints exactly as one built directly would. Importing
``rich.text`` costs a ``rad stats`` process ~13 ms (a sixth of its start-up), for nothing when
the output is plain (not a terminal, or ``NO_COLOR``): then only `Styled.plain` is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["Span", "Styled"]

# The characters rich's ``strip_control_codes`` takes out of every text: BEL, BS, VT, FF, CR.
_CONTROL = dict.fromkeys((7, 8, 11, 12, 13))


class Span(NamedTuple):
    """``style`` over the characters ``[start, end)`` (as rich's ``Span``)."""

    start: int
    end: int
    style: str


class Styled:
    """Text and styled spans, built as `rich.text.Text` builds them (see the module doc)."""

    __slots__ = ("_parts", "spans", "style")

    def __init__(self, text: str = "", style: str = "") -> None:
        self._parts = [text.translate(_CONTROL)]
        self.style = style
        self.spans: list[Span] = []

    @property
    def plain(self) -> str:
        """The characters, without styles."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0]

    def __len__(self) -> int:
        return len(self.plain)

    @property
    def cell_len(self) -> int:
        """Terminal cells the text takes (rich's measure: one for a printable ASCII
        character, none for a control character, two for a wide one, ...).
        """
        plain = self.plain
        if plain.isascii() and plain.isprintable():
            return len(plain)
        from rich.cells import cell_len

        return cell_len(plain)

    def append(self, text: str, style: str = "") -> Styled:
        """Add ``text`` at the end, in ``style``."""
        if not text:
            return self
        text = text.translate(_CONTROL)
        if style:
            offset = len(self)
            self.spans.append(Span(offset, offset + len(text), style))
        self._parts.append(text)
        return self

    def append_text(self, text: Styled) -> Styled:
        """Add ``text`` at the end with its own style and spans."""
        offset = len(self)
        self._add(text, offset)
        self._parts.append(text.plain)
        return self

    def join(self, lines: Iterable[Styled]) -> Styled:
        """``lines`` joined with this text between them (in a text of this one's style)."""
        out = Styled(style=self.style)
        separator = self if self.plain else None
        offset = 0
        for n, line in enumerate(lines):
            if n and separator is not None:
                out._add(separator, offset)
                out._parts.append(separator.plain)
                offset += len(separator)
            out._add(line, offset)
            out._parts.append(line.plain)
            offset += len(line)
        return out

    def _add(self, text: Styled, offset: int) -> None:
        if text.style:
            self.spans.append(Span(offset, offset + len(text), text.style))
        self.spans.extend(Span(offset + s, offset + e, style) for s, e, style in text.spans)

    def rstrip(self) -> None:
        """Take trailing white space off; spans past the end go, those across it are cut."""
        plain = self.plain
        stripped = plain.rstrip()
        if stripped == plain:
            return
        self._parts[:] = [stripped]
        end = len(stripped)
        self.spans[:] = [
            span if span.end < end else Span(span.start, min(end, span.end), span.style)
            for span in self.spans
            if span.start < end
        ]

    def to_rich(self) -> Text:
        """The same text as a `rich.text.Text`."""
        from rich.text import Span as RichSpan
        from rich.text import Text

        return Text(self.plain, style=self.style, spans=[RichSpan(*span) for span in self.spans])
