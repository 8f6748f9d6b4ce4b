"""Where a decorated call's time goes: cProfile of the tool and model loops of `bench.overhead`.

Prints, for each kind, the functions with the most own time per decorated call (cProfile
inflates every figure alike; read them as shares, not as absolute costs).

    .venv/bench/bin/python -m bench.hotpath [--calls 20000] [--top 15]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from dataclasses import dataclass

from bench.overhead import per_call_us, setup_radium


@dataclass
class HotRow:
    function: str
    calls_per_call: float
    own_us: float
    cumulative_us: float


def profile(kind: str, calls: int, top: int) -> list[HotRow]:
    fn = setup_radium()[kind]
    per_call_us(fn, 2_000)
    prof = cProfile.Profile()
    prof.enable()
    per_call_us(fn, calls)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        short = filename.rsplit("site-packages/", 1)[-1].rsplit("/work/main/", 1)[-1]
        label = f"{short}:{line}({name})" if line else name
        rows.append(HotRow(label, ncalls / calls, tottime / calls * 1e6, cumtime / calls * 1e6))
    rows.sort(key=lambda r: r.own_us, reverse=True)
    return [r for r in rows if "bench/overhead.py" not in r.function][:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for kind in ("tool", "model"):
        print(f"{kind}: own µs per decorated call under cProfile")
        for r in profile(kind, args.calls, args.top):
            print(f"  {r.own_us:7.2f}  {r.calls_per_call:4.1f}x  {r.function}")


if __name__ == "__main__":
    main()
