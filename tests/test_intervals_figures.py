"""Union lengths when one union absorbs another that has frozen part of its intervals, and
how many intervals a union keeps by default (issue 20: mutants that survived in
``intervals.py``).
"""

from __future__ import annotations

from radium_otel._internal.intervals import IntervalUnion


def test_absorbing_adds_the_frozen_length_and_merges_the_held_intervals() -> None:
    mine = IntervalUnion(keep=0)
    mine.add(0, 10)
    mine.add(20, 30)
    mine.compact(None)  # both frozen: 20 ns, nothing held
    mine.add(40, 50)

    other = IntervalUnion(keep=1)
    other.add(0, 3)
    other.add(45, 60)  # overlaps mine's held interval
    other.compact(None)  # the first frozen (3 ns), the last held

    mine.absorb(other)

    assert mine.total_ns == 20 + 3 + (60 - 40)
    assert len(mine) == 1  # [40, 60)
    assert (other.total_ns, len(other)) == (3 + 15, 1)  # left as it was


def test_a_union_keeps_the_64_latest_intervals_by_default() -> None:
    union = IntervalUnion()
    for i in range(100):
        union.add(10 * i, 10 * i + 4)
    union.compact(None)
    assert (len(union), union.total_ns) == (64, 400)
    union.add(0, 10_000)  # reaches back past what was frozen: only the rest counts
    assert union.total_ns == 36 * 4 + (10_000 - 354)  # frozen up to the 36th end, 354
