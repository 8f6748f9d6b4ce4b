"""`IntervalUnion`: the length of a union of half-open intervals, with bounded memory."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from radium_otel._internal.intervals import IntervalUnion


def brute_union_length(intervals: list[tuple[int, int]]) -> int:
    """Length of the union, by sorting and merging every interval (no cleverness)."""
    total = 0
    current: tuple[int, int] | None = None
    for start, end in sorted((s, e) for s, e in intervals if e > s):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += current[1] - current[0]
    return total


def union_of(*intervals: tuple[int, int], keep: int = 64) -> IntervalUnion:
    union = IntervalUnion(keep=keep)
    for start, end in intervals:
        union.add(start, end)
    return union


# --- add -------------------------------------------------------------------------------------


def test_empty_union_has_no_length() -> None:
    union = IntervalUnion()
    assert union.total_ns == 0
    assert len(union) == 0


def test_disjoint_intervals_add_up() -> None:
    union = union_of((0, 10), (20, 25), (100, 101))
    assert union.total_ns == 16
    assert len(union) == 3


def test_overlapping_intervals_count_once() -> None:
    union = union_of((0, 10), (5, 15))
    assert union.total_ns == 15
    assert len(union) == 1


def test_nested_interval_adds_nothing() -> None:
    union = union_of((0, 100), (10, 20), (30, 40))
    assert union.total_ns == 100
    assert len(union) == 1


def test_touching_half_open_intervals_merge_without_gap_or_overlap() -> None:
    union = union_of((0, 5), (5, 10))
    assert union.total_ns == 10
    assert len(union) == 1


def test_one_interval_bridges_several() -> None:
    union = union_of((0, 2), (4, 6), (8, 10), (20, 30), (1, 9))
    assert union.total_ns == 10 + 10
    assert len(union) == 2


def test_intervals_arriving_out_of_order() -> None:
    union = union_of((50, 60), (0, 10), (30, 40), (5, 35))
    assert union.total_ns == 40 + 10
    assert len(union) == 2


def test_empty_and_inverted_intervals_are_ignored() -> None:
    union = union_of((10, 10), (20, 5), (-5, -10))
    assert union.total_ns == 0
    assert len(union) == 0


# --- compact ---------------------------------------------------------------------------------


def test_compact_without_watermark_keeps_the_most_recent_intervals() -> None:
    union = union_of(*[(10 * i, 10 * i + 3) for i in range(10)], keep=4)
    union.compact(None)
    assert len(union) == 4
    assert union.total_ns == 30


def test_compact_never_freezes_past_the_watermark() -> None:
    union = union_of((0, 10), (20, 30), (40, 50), (60, 70), keep=0)
    union.compact(35)  # a span that started at 35 is still open
    assert len(union) == 2  # (40, 50) and (60, 70) can still merge with it
    union.add(35, 65)  # it ends: bridges the two live intervals exactly
    assert union.total_ns == 10 + 10 + (70 - 35)
    assert len(union) == 1


def test_interval_ending_one_nanosecond_after_the_watermark_stays_live() -> None:
    union = union_of((0, 10), (20, 31), keep=0)
    union.compact(30)
    assert len(union) == 1
    union.add(30, 40)  # a span open since 30 overlaps [30, 31): counted once
    assert union.total_ns == 10 + 20
    union.compact(40)
    assert len(union) == 0
    assert union.total_ns == 30


def test_compact_with_fewer_intervals_than_keep_does_nothing() -> None:
    union = union_of((0, 10), (20, 30), keep=2)
    union.compact(None)
    union.compact(1000)
    assert len(union) == 2
    assert union.total_ns == 20


def test_interval_reaching_into_the_frozen_past_is_clipped_not_counted_twice() -> None:
    union = union_of((0, 10), (20, 30), keep=0)
    union.compact(None)  # everything frozen, boundary at 30
    assert len(union) == 0
    union.add(5, 40)  # contract broken on purpose: only [30, 40) can still count
    assert union.total_ns == 30
    union.add(0, 25)  # entirely in the frozen past: nothing
    assert union.total_ns == 30


def test_cutoff_and_freeze_share_one_boundary() -> None:
    union = union_of((0, 10), (20, 30), (40, 50), keep=1)
    assert union.cutoff(None) == 30
    assert union.cutoff(25) == 25
    other = union_of((0, 45), keep=1)
    assert other.cutoff(None) is None
    for u in (union, other):
        u.freeze(30)
    assert len(union) == 1
    assert len(other) == 1  # (0, 45) straddles the boundary and stays
    union.add(25, 35)  # both clip at 30, alike
    other.add(25, 35)
    assert union.total_ns == 20 + 5 + 10
    assert other.total_ns == 45


# --- properties ------------------------------------------------------------------------------

_interval = st.tuples(st.integers(-1_000, 1_000), st.integers(0, 300))
_operation = st.one_of(
    st.tuples(st.just("add"), _interval),
    st.tuples(st.just("compact"), st.none() | st.integers(0, 400)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))))
def test_union_equals_brute_force_in_any_order(intervals: list[tuple[int, int]]) -> None:
    union = union_of(*intervals)
    assert union.total_ns == brute_union_length(intervals)
    assert len(union) <= len(intervals)


@settings(max_examples=300, deadline=None)
@given(st.lists(_operation, max_size=60), st.integers(0, 4))
def test_compacting_under_the_watermark_contract_is_exact(
    operations: list[tuple[str, object]], keep: int
) -> None:
    """Intervals that honour the watermark contract are never clipped: the total is exact.

    The contract: after ``compact(w)`` no later interval starts before ``w``; after
    ``compact(None)`` (no span open) none starts before anything already added ended.
    """
    union = IntervalUnion(keep=keep)
    added: list[tuple[int, int]] = []
    floor = 0  # no later interval may start before this
    latest_end = 0
    for op, arg in operations:
        if op == "add":
            assert isinstance(arg, tuple)
            offset, length = arg
            start = floor + abs(offset)
            end = start + length
            union.add(start, end)
            added.append((start, end))
            latest_end = max(latest_end, end)
        elif arg is None:
            union.compact(None)
            floor = max(floor, latest_end)
            assert len(union) <= keep
        else:
            assert isinstance(arg, int)
            watermark = floor + arg
            union.compact(watermark)
            floor = watermark
        assert union.total_ns == brute_union_length(added)


@settings(max_examples=200, deadline=None)
@given(st.lists(_interval, min_size=1, max_size=80), st.integers(0, 3))
def test_sequential_stream_keeps_memory_bounded(shapes: list[tuple[int, int]], keep: int) -> None:
    """Intervals arriving in time order, compacted after each: memory stays at ``keep``."""
    union = IntervalUnion(keep=keep)
    added: list[tuple[int, int]] = []
    now = 0
    for gap, length in shapes:
        start = now + abs(gap)
        now = start + length
        union.add(start, now)
        added.append((start, now))
        union.compact(None)
        assert len(union) <= keep
    assert union.total_ns == brute_union_length(added)


def test_many_sequential_intervals_stay_in_constant_memory() -> None:
    union = IntervalUnion(keep=8)
    for i in range(100_000):
        union.add(3 * i, 3 * i + 2)
        union.compact(None)
        assert len(union) <= 8
    assert union.total_ns == 200_000
