"""`EventSource`: what the coding CLIs' mappings share.

The three CLIs report a session as OTLP log records, one per event, named by an
``event.name`` attribute (or the body), with the session's id in an attribute. A source
module lists a handler per event name; each handler reads the record's attributes and
returns the events it means (`radium_otel.sources.events`). Unknown event names are accepted
and ignored (a newer CLI version adds events); a record of a known event without a session id
is rejected (counted in the partial-success answer). Each item's key is a digest of the
record's bytes, so a batch sent again by a retrying exporter adds nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from radium_otel._internal.aggregate import ModelCall
from radium_otel._internal.usage import SOURCE_SHAPES, usage_from_counts
from radium_otel.sources import otlp
from radium_otel.sources.events import Event, Item, model_call

__all__ = ["EventSource", "Record", "as_bool", "as_float", "as_int", "digest"]

_NS_PER_MS = 1_000_000


class Record:
    """One log record as a handler sees it: its attributes, its time (ns).

    Attribute values are converted from OTLP's ``AnyValue`` only when read: a record has a
    score of attributes and a handler reads a few.
    """

    __slots__ = ("raw", "resource", "time_ns")

    def __init__(
        self, raw: Mapping[str, AnyValue], resource: Mapping[str, Any], time_ns: int
    ) -> None:
        self.raw = raw
        self.resource = resource
        self.time_ns = time_ns

    def get(self, key: str) -> Any:
        """An attribute of the record, else of its resource."""
        found = self.raw.get(key)
        value = None if found is None else otlp.value(found)
        return self.resource.get(key) if value is None else value

    def counts(self, keys: Iterable[str]) -> dict[str, Any]:
        """The attributes ``keys`` name, read (for `usage_from_counts`)."""
        return {key: self.get(key) for key in keys}

    def text(self, key: str) -> str | None:
        """A non-empty string attribute, else None."""
        value = self.get(key)
        return value if isinstance(value, str) and value else None

    def span_ms(self, key: str = "duration_ms") -> tuple[int, int]:
        """(start, end) in ns of something that ended at the record's time and lasted
        ``key`` milliseconds (0 when not reported).
        """
        ms = as_float(self.get(key))
        duration = round(ms * _NS_PER_MS) if ms is not None and ms >= 0 else 0
        return self.time_ns - duration, self.time_ns


Handler = Callable[[Record], Sequence[Event]]


class EventSource:
    """A coding CLI's mapping: recognised by ``service_names`` / ``prefix``, one handler per
    event name (without the prefix).
    """

    name: ClassVar[str]
    lines_known: ClassVar[bool]
    service_names: ClassVar[frozenset[str]]
    prefix: ClassVar[str]  # event names start with it: "claude_code."
    session_keys: ClassVar[tuple[str, ...]] = ("session.id",)

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        # The attributes that hold a request's token counts (the source's usage shape).
        self._count_keys = tuple(path[0] for path in SOURCE_SHAPES[self.name].paths())

    def recognises(self, resource: Mapping[str, Any], scope: str, event: str | None) -> bool:
        """By ``service.name``, else by the first record's event name."""
        if resource.get("service.name") in self.service_names:
            return True
        return event is not None and event.startswith(self.prefix)

    def logs(self, resource: Mapping[str, Any], records: Sequence[Any], out: list[Item]) -> int:
        """Map log records to items in ``out``; returns how many were rejected."""
        rejected = 0
        for raw in records:
            attrs = {kv.key: kv.value for kv in raw.attributes}
            found = attrs.get("event.name")
            name = found.string_value if found is not None else ""
            name = name or raw.body.string_value
            if not name:
                continue
            event_name = name.removeprefix(self.prefix)
            handler = self.handlers.get(event_name)
            if handler is None:
                continue  # an event we do not count: accepted, ignored
            record = Record(attrs, resource, raw.time_unix_nano or raw.observed_time_unix_nano)
            session_id = self.session_id(record)
            if session_id is None or not record.time_ns:
                rejected += 1
                continue
            key = self.key_of(event_name, record) or digest(
                raw.SerializeToString(deterministic=True)
            )
            for i, event in enumerate(handler(record)):
                out.append(Item(session_id, self.name, f"{key}.{i}" if i else key, event))
        return rejected

    def key_of(self, event: str, record: Record) -> str | None:
        """The identity the source gives a record (a request id, a tool call id), the same
        in its telemetry and its transcripts; None: a digest of the record's bytes.
        """
        return None

    def session_id(self, record: Record) -> str | None:
        """The session a record belongs to (the first of ``session_keys`` it has)."""
        for key in self.session_keys:
            found = record.text(key)
            if found is not None:
                return found
        return None

    def spans(self, resource: Mapping[str, Any], spans: Sequence[Any], out: list[Item]) -> int:
        """The CLIs' spans say nothing their events do not: claimed (so that they are not
        replayed as GenAI spans and counted twice), not counted.
        """
        return 0

    def metrics(self, resource: Mapping[str, Any], metrics: Sequence[Any], out: list[Item]) -> int:
        """Metrics fill only what events lack; by default nothing."""
        return 0

    # --- helpers for handlers ----------------------------------------------------------------
    def model_call(
        self, record: Record, model: str | None, start_ns: int, end_ns: int, error: bool
    ) -> ModelCall:
        """A request with the record's token counts, normalised by the source's shape."""
        usage = usage_from_counts(self.name, record.counts(self._count_keys))
        return model_call(model, self.provider(record), start_ns, end_ns, error, usage)

    def provider(self, record: Record) -> str | None:
        """The provider a request went to (None: priced by the model's name alone)."""
        return None


def digest(data: bytes) -> str:
    """A short stable digest of a record's bytes (its identity for retried batches)."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def as_int(value: object) -> int | None:
    """An integer sent as a number or a decimal string (the CLIs do both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_float(value: object) -> float | None:
    """A finite number sent as a number or a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_bool(value: object) -> bool | None:
    """A boolean sent as a boolean or as ``"true"``/``"false"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
