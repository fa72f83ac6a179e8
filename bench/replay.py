"""The what-if replay: seconds to replay 10,000 appeals in memory, with 5 and
50 operators, plain and with everything on (skills with a fallback, a priority
line, weekly shifts). The API promises under 2 s for 10,000 appeals.

Traffic: Poisson arrivals (one every 30 s, so 10,000 span about 3.5 days),
exponential handling sized to keep the smaller shift about 90 % busy (so a
line forms and drains all the time). With everything on, a third of the
appeals need `lang:uk` (half the team has it), 5 % are VIP, scores are uniform
(hot from 0.7), and shifts split the team: operators 0, 1, 4, 5, ... work
08:00-20:00 Kyiv time, 2, 3, 6, 7, ... 20:00-08:00 (overnight).

Each row: the median of `--repeats` runs after one warm-up, as wall-clock and
as this process's CPU time (on a shared machine the CPU time is the figure to
compare with the 2 s budget). Nothing is written anywhere.

    python -m bench.replay [--appeals 10000] [--operators 5,50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

from chalicelib.directory.schedules import DAY_NAMES, WeeklySchedule
from chalicelib.insight.replay import OperatorSetup, PastAppeal, ReplayConfig, ReplayResult, replay
from chalicelib.models.sources import Strategy
from chalicelib.routing.line_order import LineMode, LineOrder

START = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
UK = frozenset({"lang:uk"})


def traffic(count: int, slots: float, rng: random.Random, *, everything: bool) -> list[PastAppeal]:
    """`slots`: the capacity on shift at any time."""
    mean_gap = 30.0
    mean_handling = mean_gap * slots * 0.9
    at = START
    appeals = []
    for number in range(count):
        at += rng.expovariate(1 / mean_gap)
        handling, accept = rng.expovariate(1 / mean_handling), rng.expovariate(1 / 90)
        if everything:
            needs = UK if rng.random() < 1 / 3 else frozenset[str]()
            appeal = PastAppeal(
                f"ap{number:06d}", at, handling, accept, needs, rng.random(), False, rng.random() < 0.05
            )
        else:
            appeal = PastAppeal(f"ap{number:06d}", at, handling, accept)
        appeals.append(appeal)
    return appeals


def team(operators: int, max_load: int, rng: random.Random, *, everything: bool) -> tuple[OperatorSetup, ...]:
    day = WeeklySchedule.model_validate(
        {"time_zone": "Europe/Kyiv", "week": {d: [{"start": "08:00", "end": "20:00"}] for d in DAY_NAMES}}
    )
    night = WeeklySchedule.model_validate(
        {
            "time_zone": "Europe/Kyiv",
            "week": {d: [{"start": "20:00", "end": "08:00", "overnight": True}] for d in DAY_NAMES},
        }
    )
    return tuple(
        OperatorSetup(
            f"op{i:03d}",
            rng.randint(1, 10),
            max_load,
            tags=UK if i % 2 == 0 else frozenset(),
            schedule=(day if i % 4 < 2 else night) if everything else None,
        )
        for i in range(operators)
    )


def measure(appeals: list[PastAppeal], config: ReplayConfig, repeats: int) -> tuple[float, float, ReplayResult]:
    result = replay(appeals, config)  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = replay(appeals, config)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--operators", default="5,50")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    max_load = 3
    columns = ("wall s", "cpu s", "waited", "mean wait s", "p90 wait s")
    print(f"{'operators':>9}  {'setup':<34} " + " ".join(f"{c:>11}" for c in columns))
    for operators in (int(n) for n in args.operators.split(",")):
        for everything in (False, True):
            rng = random.Random(operators)
            on_shift = operators // 2 if everything else operators  # the smaller shift
            appeals = traffic(args.appeals, on_shift * max_load, rng, everything=everything)
            config = ReplayConfig(
                team(operators, max_load, rng, everything=everything),
                Strategy.WEIGHTED_CAPACITY,
                sla_seconds=120,
                line_order=LineOrder(mode=LineMode.PRIORITY) if everything else LineOrder(),
                fallback_after_seconds=300 if everything else None,
                seed=7,
            )
            wall, cpu, result = measure(appeals, config, args.repeats)
            setup = "skills+fallback, priority, shifts" if everything else "weights and capacity only"
            figures = (
                f"{wall:.3f}",
                f"{cpu:.3f}",
                result.waited,
                f"{result.mean_wait or 0:.1f}",
                f"{result.p90_wait or 0:.1f}",
            )
            print(f"{operators:>9}  {setup:<34} " + " ".join(f"{f:>11}" for f in figures))


if __name__ == "__main__":
    main()
