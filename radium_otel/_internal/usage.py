"""Token usage read from model responses, normalised to OpenTelemetry GenAI semantics.

``input_tokens`` includes cache reads and cache writes (``cache_read_tokens`` and
``cache_creation_tokens`` are parts of it); ``output_tokens`` includes ``reasoning_tokens``.

Supported: OpenAI Chat Completions and Responses, Anthropic Messages and Google GenAI
``generate_content``, complete or streamed, as SDK objects or as plain dicts of the same shape.
Responses are recognised by their shape, never by their type, so this module imports none of
the SDKs: it runs in user processes, where they may be absent and are slow to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from radium_otel._internal.errors import warn_once

_MAX_TOKENS = 1_000_000_000
"""A count above this, for one response, is garbage: it is dropped rather than summed."""

_Path = tuple[str, ...]
"""Where a raw provider count sits inside a usage object, e.g. ``("prompt_tokens_details",
"cached_tokens")``."""


Counts = tuple[
    "int | None", "int | None", "int | None", "int | None", "int | None", "int | None", "str | None"
]
"""A `Usage`'s fields as a tuple, in its order: what the decorators' hot path passes on."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one model response, in OpenTelemetry GenAI semantics.

    ``input_tokens`` includes ``cache_read_tokens`` and ``cache_creation_tokens``;
    ``output_tokens`` includes ``reasoning_tokens``. ``None`` means "not reported".
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_creation_1h_tokens: int | None = None
    """The part of ``cache_creation_tokens`` written with a 1-hour lifetime (Anthropic)."""
    response_model: str | None = None
    """The model named by the response, if any."""

    def counts(self) -> Counts:
        """The fields as a tuple, in their order (what `response_counts` returns)."""
        return (
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_creation_tokens,
            self.reasoning_tokens,
            self.cache_creation_1h_tokens,
            self.response_model,
        )

    def is_empty(self) -> bool:
        """True when every token count is ``None``."""
        return all(
            count is None
            for count in (
                self.input_tokens,
                self.output_tokens,
                self.cache_read_tokens,
                self.cache_creation_tokens,
                self.reasoning_tokens,
            )
        )


@dataclass(frozen=True, slots=True)
class _Shape:
    """How one API reports usage: where it is, and which raw counts make up each normal one.

    A normalised count is the sum of the raw counts listed for it that are present (``None``
    when none is), which is how Anthropic's input, reported without the cache, gains its cache
    reads and writes, and Gemini's output gains its thoughts.
    """

    usage_key: str
    model_key: str
    input: tuple[_Path, ...]
    output: tuple[_Path, ...]
    cache_read: tuple[_Path, ...]
    cache_creation: tuple[_Path, ...]
    reasoning: tuple[_Path, ...]
    cache_creation_1h: tuple[_Path, ...] = ()

    def paths(self) -> tuple[_Path, ...]:
        """Every raw count this shape reads, once each."""
        every = (
            self.input
            + self.output
            + self.cache_read
            + self.cache_creation
            + self.reasoning
            + self.cache_creation_1h
        )
        return tuple(dict.fromkeys(every))

    def normalise(self, raw: Mapping[_Path, int], model: str | None) -> Usage | None:
        """Turn raw counts into a `Usage`; ``None`` when there is no count at all."""
        if not raw:
            return None
        counts: list[int | None] = []
        for paths in (self.input, self.output, self.cache_read, self.cache_creation,
                      self.reasoning, self.cache_creation_1h):  # fmt: skip
            count = None
            for path in paths:
                value = raw.get(path)
                if value is not None:
                    count = value if count is None else count + value
            counts.append(count)
        if counts[0] is None and counts[1] is None and counts[2] is None:
            if counts[3] is None and counts[4] is None:
                return None  # only a 1-hour cache part: nothing `is_empty` would call usage
        i, o, read, write, reasoning, write_1h = counts
        return Usage(i, o, read, write, reasoning, write_1h, model)


_OPENAI_CHAT = _Shape(
    usage_key="usage",
    model_key="model",
    input=(("prompt_tokens",),),
    output=(("completion_tokens",),),
    cache_read=(("prompt_tokens_details", "cached_tokens"),),
    cache_creation=(("prompt_tokens_details", "cache_write_tokens"),),
    reasoning=(("completion_tokens_details", "reasoning_tokens"),),
)
_OPENAI_RESPONSES = _Shape(
    usage_key="usage",
    model_key="model",
    input=(("input_tokens",),),
    output=(("output_tokens",),),
    cache_read=(("input_tokens_details", "cached_tokens"),),
    cache_creation=(("input_tokens_details", "cache_write_tokens"),),
    reasoning=(("output_tokens_details", "reasoning_tokens"),),
)
_ANTHROPIC = _Shape(
    usage_key="usage",
    model_key="model",
    input=(("input_tokens",), ("cache_read_input_tokens",), ("cache_creation_input_tokens",)),
    output=(("output_tokens",),),
    cache_read=(("cache_read_input_tokens",),),
    cache_creation=(("cache_creation_input_tokens",),),
    reasoning=(("output_tokens_details", "thinking_tokens"),),
    cache_creation_1h=(("cache_creation", "ephemeral_1h_input_tokens"),),
)
_GEMINI = _Shape(
    usage_key="usage_metadata",
    model_key="model_version",
    input=(("prompt_token_count",), ("tool_use_prompt_token_count",)),
    output=(("candidates_token_count",), ("thoughts_token_count",)),
    cache_read=(("cached_content_token_count",),),
    cache_creation=(),
    reasoning=(("thoughts_token_count",),),
)
_NORMALISED = _Shape(
    usage_key="usage",
    model_key="model",
    input=(("input_tokens",),),
    output=(("output_tokens",),),
    cache_read=(("cache_read_tokens",),),
    cache_creation=(("cache_creation_tokens",),),
    reasoning=(("reasoning_tokens",),),
)
"""A usage with ``input_tokens``/``output_tokens`` and nothing that names its API."""


@dataclass(frozen=True, slots=True)
class _Reading:
    """The raw counts one response, chunk or event reports, before normalisation."""

    shape: _Shape
    raw: dict[_Path, int]
    model: str | None


def usage_from_response(obj: object) -> Usage | None:
    """Usage of one complete response object or dict; ``None`` when it carries none.

    Also accepts a bare usage object or dict. Never raises.
    """
    counts = response_counts(obj)
    return None if counts is None else Usage(*counts)


def response_counts(obj: object) -> Counts | None:
    """`usage_from_response` as a tuple of `Usage`'s fields (no object built). Never raises."""
    counts = _fast_counts(obj)
    if counts is not _GENERAL:
        return counts  # type: ignore[return-value]
    reading = _read(obj)
    if reading is None:
        return None
    usage = reading.shape.normalise(reading.raw, reading.model)
    return None if usage is None else usage.counts()


class StreamUsage:
    """Accumulates usage over the chunks or events of one streamed response.

    Providers report usage in pieces: OpenAI in a final chunk, the Responses API in its
    ``response.completed`` event, Anthropic in ``message_start`` then cumulative
    ``message_delta`` events, Gemini as cumulative ``usage_metadata`` on every chunk. Raw counts
    are merged field by field, the latest reported value winning, and normalised only in
    `result`, so that a delta which omits the cache counts does not drop them from the input.
    """

    __slots__ = ("_model", "_raw", "_shape")

    def __init__(self) -> None:
        self._shape: _Shape | None = None
        self._raw: dict[_Path, int] = {}
        self._model: str | None = None

    def add(self, chunk: object) -> None:
        """Take in the usage, if any, that one chunk or event reports. Never raises."""
        reading = _read(chunk)
        if reading is None:
            return
        if reading.shape is not self._shape:
            # One response streams in one shape. Counts in another shape start afresh; a chunk
            # of another shape without counts (garbage, most likely) changes nothing.
            if self._shape is not None and not reading.raw:
                return
            self._shape = reading.shape
            self._raw = {}
        self._raw.update(reading.raw)
        if reading.model is not None:
            self._model = reading.model

    def result(self) -> Usage | None:
        """Usage of the stream so far; ``None`` when no chunk has reported any."""
        if self._shape is None:
            return None
        return self._shape.normalise(self._raw, self._model)


def _read(obj: object) -> _Reading | None:
    """Find the usage of a response, stream chunk or stream event, and read its raw counts."""
    event_type = _text(_get(obj, "type"))
    if event_type in ("message_start", "message_stop"):
        # Anthropic: the raw start event, or the SDK's stop event with the accumulated message.
        return _read_owner(_get(obj, "message"), _ANTHROPIC)
    if event_type == "message_delta":
        return _read_owner(obj, _ANTHROPIC)
    if event_type is not None and event_type.startswith("response."):
        # OpenAI Responses stream: response.created, response.completed and the like.
        return _read_owner(_get(obj, "response"), _OPENAI_RESPONSES)
    if _has(obj, "usage_metadata"):
        return _read_owner(obj, _GEMINI)
    usage = _get(obj, "usage")
    if usage is not None:
        shape = _shape_from_owner(obj) or _shape_from_keys(usage)
        return None if shape is None else _read_owner(obj, shape)
    bare = _shape_from_keys(obj)
    return None if bare is None else _read_counts(obj, bare, model=None)


def _read_owner(owner: object, shape: _Shape) -> _Reading | None:
    """Read the usage held by a response of a known shape."""
    if owner is None:
        return None
    return _read_counts(_get(owner, shape.usage_key), shape, _text(_get(owner, shape.model_key)))


def _read_counts(usage: object, shape: _Shape, model: str | None) -> _Reading:
    raw: dict[_Path, int] = {}
    if usage is not None:
        for path in _PATHS.get(id(shape)) or shape.paths():
            value = usage
            for name in path:
                value = _get(value, name)
                if value is None:
                    break
            if value is None:
                continue
            if type(value) is int and 0 <= value <= _MAX_TOKENS:  # the usual case
                raw[path] = value
                continue
            count = _count(path, value)
            if count is not None:
                raw[path] = count
    return _Reading(shape, raw, model)


# Every raw count of each shape, once each, computed once (by identity: shapes are constants).
_PATHS = {
    id(shape): shape.paths()
    for shape in (_OPENAI_CHAT, _OPENAI_RESPONSES, _ANTHROPIC, _GEMINI, _NORMALISED)
}


def _shape_from_owner(owner: object) -> _Shape | None:
    """The shape a response names for itself: an Anthropic message, an OpenAI response."""
    if _text(_get(owner, "type")) == "message":
        return _ANTHROPIC
    if _text(_get(owner, "object")) == "response":
        return _OPENAI_RESPONSES
    return None


def _shape_from_keys(usage: object) -> _Shape | None:
    """The shape of a usage object or dict, told by the fields it has.

    Anthropic and the Responses API both report ``input_tokens``/``output_tokens``, with
    different meanings: Anthropic usage has ``cache_*_input_tokens``, Responses usage has
    ``input_tokens_details``. ``prompt_tokens`` comes first because OpenAI-compatible proxies
    add Anthropic-style cache fields to Chat Completions usage without changing its meaning.
    """
    if _has_any(usage, "prompt_tokens", "completion_tokens"):
        return _OPENAI_CHAT
    if _has_any(usage, "cache_read_input_tokens", "cache_creation_input_tokens"):
        return _ANTHROPIC
    if _has(usage, "input_tokens_details"):
        return _OPENAI_RESPONSES
    if _has_any(usage, "prompt_token_count", "candidates_token_count"):
        return _GEMINI
    if _has_any(usage, "input_tokens", "output_tokens"):
        return _NORMALISED
    return None


def _count(path: _Path, value: object) -> int | None:
    """A valid token count, or ``None``; present but invalid values are dropped with a warning.

    The warning is logged once per field, not once per response or chunk.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_TOKENS:
        return int(value)
    shown = value if isinstance(value, int) else type(value).__name__
    field = ".".join(path)
    warn_once(f"usage:{field}", "ignoring usage field %s: %s is not a token count", field, shown)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _get(obj: object, name: str) -> object:
    """``obj[name]`` for a mapping, ``obj.name`` otherwise; ``None`` when absent or failing."""
    try:
        if type(obj) is dict:  # the common case, without the ABC check below
            return obj.get(name)
        if isinstance(obj, Mapping):
            return obj.get(name)
        return getattr(obj, name, None)
    except Exception:
        return None


def _has(obj: object, name: str) -> bool:
    """Whether ``obj`` has the key or attribute ``name``, even when its value is ``None``."""
    try:
        if type(obj) is dict or isinstance(obj, Mapping):
            return name in obj
        return hasattr(obj, name)
    except Exception:
        return False


def _has_any(obj: object, *names: str) -> bool:
    if type(obj) is dict:  # the common case, without a call per name
        for name in names:
            if name in obj:
                return True
        return False
    return any(_has(obj, name) for name in names)


# --- counts that external sources report as flat attributes (`radium_otel.sources`) --------------
def _flat(
    input: tuple[str, ...],
    output: tuple[str, ...],
    cache_read: tuple[str, ...] = (),
    cache_creation: tuple[str, ...] = (),
    reasoning: tuple[str, ...] = (),
    cache_creation_1h: tuple[str, ...] = (),
) -> _Shape:
    def paths(names: tuple[str, ...]) -> tuple[_Path, ...]:
        return tuple((n,) for n in names)

    return _Shape("", "model", paths(input), paths(output), paths(cache_read),
                  paths(cache_creation), paths(reasoning), paths(cache_creation_1h))  # fmt: skip


#: How each coding CLI's events report a request's tokens (SPEC "Sessions from agents we do
#: not run"): Claude Code's input leaves the cache out (as Anthropic's API does); Codex's and
#: Gemini CLI's include it; Gemini's output leaves out the thoughts (as Gemini's API does).
SOURCE_SHAPES: dict[str, _Shape] = {
    "claude-code": _flat(
        input=("input_tokens", "cache_read_tokens", "cache_creation_tokens"),
        output=("output_tokens",),
        cache_read=("cache_read_tokens",),
        cache_creation=("cache_creation_tokens",),
        cache_creation_1h=("cache_creation_1h_tokens",),
    ),
    "codex": _flat(
        input=("input_token_count",),
        output=("output_token_count",),
        cache_read=("cached_token_count",),
        cache_creation=("cache_write_token_count",),
        reasoning=("reasoning_token_count",),
    ),
    "gemini-cli": _flat(
        input=("input_token_count", "tool_token_count"),
        output=("output_token_count", "thoughts_token_count"),
        cache_read=("cached_content_token_count",),
        reasoning=("thoughts_token_count",),
    ),
    # Their transcripts (`rad import`) spell the same counts their own way.
    "codex/transcript": _flat(
        input=("input_tokens",),
        output=("output_tokens",),
        cache_read=("cached_input_tokens",),
        cache_creation=("cache_write_input_tokens",),
        reasoning=("reasoning_output_tokens",),
    ),
    "gemini-cli/transcript": _flat(
        input=("input", "tool"),
        output=("output", "thoughts"),
        cache_read=("cached",),
        reasoning=("thoughts",),
    ),
}


def usage_from_counts(source: str, counts: Mapping[str, object]) -> Usage | None:
    """A request's `Usage` from the flat counts a source reports (`SOURCE_SHAPES`); counts
    sent as decimal strings (Claude Code's spans) are read as numbers, invalid ones dropped.
    """
    shape = SOURCE_SHAPES[source]
    raw: dict[_Path, int] = {}
    for path in shape.paths():
        value = counts.get(path[0])
        if isinstance(value, str) and value.isdigit():
            try:
                value = int(value)
            except ValueError:  # digits int() does not read ("²"), or too many of them
                pass  # still a string: dropped with a warning below
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        count = _count(path, value)
        if count is not None:
            raw[path] = count
    return shape.normalise(raw, None)


# --- the fast path -------------------------------------------------------------------------
# A complete response (no stream event) whose response, usage and detail objects read as
# plain dicts: a dict, or an object whose fields are its ``__dict__`` (pydantic models, as
# the OpenAI, Anthropic and Google GenAI SDKs return, and plain classes). It gives exactly
# what `_read` and `_Shape.normalise` give, or `_GENERAL` for anything else (stream events,
# bare usage, mappings, objects with a ``__getattr__``, counts that are not plain ints in
# range, which warn): those take the general path. A test checks both agree on every shape.
_GENERAL = object()
_PLAN_GENERAL, _PLAN_DICT, _PLAN_PYDANTIC = 0, 1, 2
_PLANS: dict[type, int] = {}
"""Per class: whether its instances' fields read as their ``__dict__`` (`_view_plan`)."""


def _compile(shape: _Shape) -> tuple[tuple[int, str, str | None], ...]:
    """Every raw count of ``shape`` as ``(index of the normalised count it adds to, key,
    key within it or None)``, in one flat tuple (one loop, not one per normalised count).
    """
    fields = (shape.input, shape.output, shape.cache_read, shape.cache_creation,
              shape.reasoning, shape.cache_creation_1h)  # fmt: skip
    return tuple(
        (index, path[0], path[1] if len(path) > 1 else None)
        for index, paths in enumerate(fields)
        for path in paths
    )


_FAST = {
    id(shape): _compile(shape)
    for shape in (_OPENAI_CHAT, _OPENAI_RESPONSES, _ANTHROPIC, _GEMINI, _NORMALISED)
}
_TOLD_BY = ("prompt_tokens", "completion_tokens", "cache_read_input_tokens",
            "cache_creation_input_tokens", "input_tokens_details", "prompt_token_count",
            "candidates_token_count", "input_tokens", "output_tokens")  # fmt: skip
"""The fields `_shape_from_keys` looks for."""
_NAMES = frozenset(
    {"type", "usage", "usage_metadata", "object", "model", "model_version", *_TOLD_BY}
    | {name for plan in _FAST.values() for _, key, inner in plan for name in (key, inner) if name}
)
"""Every field name the fast path reads: a class defining any of them reads the general way."""


def _view_plan(cls: type) -> int:
    """How ``getattr(obj, name, None)`` reads for instances of ``cls``, for the names read here.

    `_PLAN_DICT`: as ``obj.__dict__.get(name)`` (plain attribute lookup, an instance
    ``__dict__``, none of the names defined on the class). `_PLAN_PYDANTIC`: the same, plus
    the fields pydantic keeps apart when a model allows extra fields (``__pydantic_extra__``),
    which its ``__getattr__`` would find. Anything else: `_PLAN_GENERAL`.
    """
    if issubclass(cls, Mapping) or cls.__getattribute__ is not object.__getattribute__:
        return _PLAN_GENERAL
    if not cls.__dictoffset__ or any(hasattr(cls, name) for name in _NAMES):
        return _PLAN_GENERAL
    own_getattr = getattr(cls, "__getattr__", None)
    if own_getattr is None:
        return _PLAN_DICT
    for base in cls.__mro__:
        if base.__name__ == "BaseModel" and base.__module__ == "pydantic.main":
            private = getattr(cls, "__private_attributes__", None)
            if own_getattr is base.__dict__.get("__getattr__") and isinstance(private, dict):
                return _PLAN_GENERAL if _NAMES.intersection(private) else _PLAN_PYDANTIC
    return _PLAN_GENERAL


def _fields(obj: object) -> dict[str, object] | None:
    """``obj``'s fields as a dict when `_view_plan` says they read that way, else ``None``."""
    cls = type(obj)
    if cls is dict:
        return obj  # type: ignore[return-value]
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _view_plan(cls)
    if plan == _PLAN_DICT or (
        plan == _PLAN_PYDANTIC and not getattr(obj, "__pydantic_extra__", None)
    ):
        return obj.__dict__
    return None


def _fast_counts(obj: object) -> Counts | object | None:
    """`response_counts` of a common response, or `_GENERAL` (see above)."""
    try:
        fields = obj if type(obj) is dict else _fields(obj)
        if fields is None:
            return _GENERAL
        kind = fields.get("type")
        if kind is not None and kind != "message":
            return _GENERAL  # a stream event (or something odd)
        if "usage_metadata" in fields:
            shape = _GEMINI
            usage = fields["usage_metadata"]
            if usage is None:
                return None
        else:
            usage = fields.get("usage")
            if usage is None:
                return _GENERAL  # a bare usage, or no usage at all
            if kind == "message":
                shape = _ANTHROPIC
            elif fields.get("object") == "response":
                shape = _OPENAI_RESPONSES
            else:
                shape = None
        counts_of = usage if type(usage) is dict else _fields(usage)
        if counts_of is None:
            return _GENERAL
        if shape is None:
            if "prompt_tokens" in counts_of or "completion_tokens" in counts_of:
                shape = _OPENAI_CHAT  # (the first case of `_shape_from_keys`, without a call)
            else:
                shape = _shape_from_keys(counts_of)
                if shape is None:
                    return None
        counts: list[int | None] = [None, None, None, None, None, None]
        for index, key, inner in _FAST[id(shape)]:
            value = counts_of.get(key)
            if value is None:
                continue
            if inner is not None:
                within = value if type(value) is dict else _fields(value)
                if within is None:
                    return _GENERAL
                value = within.get(inner)
                if value is None:
                    continue
            if type(value) is not int or not 0 <= value <= _MAX_TOKENS:
                return _GENERAL  # (dropped with a warning there)
            count = counts[index]
            counts[index] = value if count is None else count + value
        i, o, read, write, reasoning, write_1h = counts
        if i is None and o is None and read is None and write is None and reasoning is None:
            return None
        model = fields.get(shape.model_key)
        if type(model) is not str or not model:
            model = _text(model)
        return (i, o, read, write, reasoning, write_1h, model)
    except Exception:
        return _GENERAL
