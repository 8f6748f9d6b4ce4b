"""Length of a union of time intervals, with memory bounded by what can still overlap.

Model-call and tool-call spans overlap (parallel calls, a model call inside a tool), so API
time is the length of the *union* of their intervals, not the sum of their durations.
Intervals arrive when spans end, in any order. Only intervals that a span still open could
overlap need to be kept; everything that ends before the earliest open start (the
*watermark*) is folded into a running total and forgotten, which keeps memory
O(open spans + ``keep``) instead of O(all spans).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

__all__ = ["IntervalUnion"]


class IntervalUnion:
    """Union of half-open ``[start, end)`` intervals in integer nanoseconds.

    Not thread-safe: the owner serialises access (the session aggregator holds its lock).
    """

    __slots__ = ("_ends", "_frozen_total", "_frozen_until", "_keep", "_starts")

    def __init__(self, keep: int = 64) -> None:
        # Disjoint, sorted, non-adjacent intervals that may still merge with new ones.
        self._starts: list[int] = []
        self._ends: list[int] = []
        # Everything before `_frozen_until` is final and summed in `_frozen_total`.
        self._frozen_total = 0
        self._frozen_until: int | None = None
        # How many recent intervals to keep even below the watermark, so that a span whose
        # start was not announced in time (threads racing, replayed spans) still merges exactly.
        self._keep = keep

    def add(self, start: int, end: int) -> int:
        """Add ``[start, end)``; empty or inverted intervals are ignored.

        Returns the number of intervals held (what `len` gives), so the owner can decide to
        compact without another call.
        """
        if self._frozen_until is not None and start < self._frozen_until:
            # The part before the frozen boundary can no longer be merged exactly; it is
            # counted as already covered (never counted twice).
            start = self._frozen_until
        starts, ends = self._starts, self._ends
        if end <= start:
            return len(starts)
        # The usual case: calls finish in order, so the new interval lies after every held
        # one, or overlaps only the last one.
        if not ends or start > ends[-1]:
            starts.append(start)
            ends.append(end)
            return len(starts)
        if start >= starts[-1]:
            if end > ends[-1]:
                ends[-1] = end
            return len(starts)
        lo = bisect_left(ends, start)  # first interval ending at or after `start`
        hi = bisect_right(starts, end)  # first interval starting after `end`
        if lo < hi:
            start = min(start, starts[lo])
            end = max(end, ends[hi - 1])
        starts[lo:hi] = [start]
        ends[lo:hi] = [end]
        return len(starts)

    def compact(self, watermark: int | None) -> None:
        """Freeze intervals that end before ``watermark`` (no open span starts earlier).

        ``None`` means no span is open: everything may be frozen except the ``keep`` most
        recent intervals.
        """
        cut = self.cutoff(watermark)
        if cut is not None:
            self.freeze(cut)

    def cutoff(self, watermark: int | None) -> int | None:
        """How far `compact` would freeze: never past ``watermark``, always keeping the ``keep``
        most recent intervals; None when there is nothing to freeze.
        """
        n = len(self._ends) - self._keep
        if n <= 0:
            return None
        cut = self._ends[n - 1]
        return cut if watermark is None else min(cut, watermark)

    def freeze(self, until: int) -> None:
        """Fold every interval ending at or before ``until`` into the total, and clip the part
        of any later interval that lies before ``until`` (it can no longer merge exactly).

        Unions that must stay comparable (API time within active time) are frozen together
        at one ``until``, so that they clip every later interval alike.
        """
        n = bisect_right(self._ends, until)
        if n:
            self._frozen_total += sum(
                e - s for s, e in zip(self._starts[:n], self._ends[:n], strict=False)
            )
            del self._starts[:n]
            del self._ends[:n]
        if self._frozen_until is None or until > self._frozen_until:
            self._frozen_until = until

    def absorb(self, other: IntervalUnion) -> None:
        """Add every interval of ``other`` to this union.

        Exact for the intervals ``other`` still holds; its frozen part, which no longer
        knows where its intervals lay, is added as a length that overlaps nothing here.
        """
        self._frozen_total += other._frozen_total
        for start, end in zip(other._starts, other._ends, strict=False):
            self.add(start, end)

    @property
    def total_ns(self) -> int:
        """Length of the union so far, in nanoseconds."""
        return self._frozen_total + sum(
            e - s for s, e in zip(self._starts, self._ends, strict=False)
        )

    def __len__(self) -> int:
        """Number of intervals held in memory."""
        return len(self._starts)
