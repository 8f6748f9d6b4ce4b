"""`Styled` builds what `rich.text.Text` builds: the same characters, style and spans after
any sequence of the operations the renderers use, and the same output on a colour terminal.
"""

from __future__ import annotations

import io
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from radium_otel._internal.styled import Styled

# Wide (CJK), combining and control characters among plain ones, and white space to strip.
CHARS = st.sampled_from(list("ab  \t\n─▏✓≥·漢字\u0301\r\x07\x08\x0b\x0c\x1b"))
TEXTS = st.text(CHARS, max_size=8)
STYLES = st.sampled_from(["", "bold", "red", "yellow", "cyan", "bold red"])


@st.composite
def pairs(draw: st.DrawFn, depth: int = 2) -> tuple[Styled, Text]:
    """A `Styled` and a `Text` built by the same random operations."""
    text, style = draw(TEXTS), draw(STYLES)
    ours, theirs = Styled(text, style), Text(text, style=style)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["append", "append_text", "join", "rstrip"]))
        if op == "append":
            text, style = draw(TEXTS), draw(STYLES)
            ours.append(text, style)
            theirs.append(text, style)
        elif op == "append_text" and depth:
            other, other_rich = draw(pairs(depth - 1))
            ours.append_text(other)
            theirs.append_text(other_rich)
        elif op == "join" and depth:
            lines = [draw(pairs(depth - 1)) for _ in range(draw(st.integers(0, 3)))]
            ours = ours.join(o for o, _ in lines)
            theirs = theirs.join(t for _, t in lines)
        elif op == "rstrip":
            ours.rstrip()
            theirs.rstrip()
    return ours, theirs


def _printed(text: Text) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=30)
    console.print(text, soft_wrap=True, highlight=False)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(pairs())
def test_styled_builds_what_rich_text_builds(pair: tuple[Styled, Text]) -> None:
    ours, theirs = pair
    assert ours.plain == theirs.plain
    assert len(ours) == len(theirs)
    assert ours.cell_len == theirs.cell_len
    assert ours.style == theirs.style
    assert [tuple(s) for s in ours.spans] == [tuple(s) for s in theirs.spans]
    converted = ours.to_rich()
    assert converted.plain == theirs.plain
    assert _printed(converted) == _printed(theirs)


def test_rad_stats_renderers_do_not_import_rich() -> None:
    code = (
        "import sys\n"
        "import radium_otel._internal.tables, radium_otel._internal.render\n"
        "import radium_otel._internal.codechanges\n"
        "print(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
