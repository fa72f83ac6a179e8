"""POST /sources/{id}/simulate end to end in the API's process: DynamoDB
requests and seconds to load and replay a source's last 10,000 appeals.

The history is written straight into moto (the cost of writing it is not the
point): `--appeals` closed appeals of one source spread over 5 operators, each
of whom also serves a second source with as many appeals of its own (the
operator index holds both; the second source's rows are what the filter reads
past, so this is the harder case). Then the service runs as the route does
(`insight.simulation.simulate`), counted by operation and timed (wall and this
process's CPU; moto's in-process DynamoDB is in both, so they bound from above
what the replay itself costs: see `python -m bench.replay` for that alone).

    python -m bench.simulate [--appeals 10000] [--operators 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

START = datetime(2026, 6, 1, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_history(source_id: str, operator_ids: list[str], appeals: int, rng: random.Random) -> None:
    from chalicelib.models import Appeal
    from chalicelib.models.appeals import CLOSED, operator_status_key

    at = START
    with Appeal.batch_write() as batch:
        for number in range(appeals):
            at += timedelta(seconds=rng.expovariate(1 / 30))
            operator_id = rng.choice(operator_ids)
            assigned = at + timedelta(seconds=rng.expovariate(1 / 5))
            accepted = assigned + timedelta(seconds=rng.expovariate(1 / 60))
            closed = accepted + timedelta(seconds=rng.expovariate(1 / 600))
            appeal_id = f"ap_{source_id[-6:]}{number:08d}"
            created = _stamp(at)
            batch.save(
                Appeal(
                    appeal_id,
                    lead_id=f"ld_bench{number:08d}",
                    lead_external_id=f"tg:{number}",
                    source_id=source_id,
                    message="-",
                    status=str(CLOSED),
                    created_at=created,
                    assigned_at=_stamp(assigned),
                    accepted_at=_stamp(accepted),
                    closed_at=_stamp(closed),
                    operator_id=operator_id,
                    operator_status_key=operator_status_key(CLOSED, created, appeal_id),
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--operators", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from moto import mock_aws

    with mock_aws():
        run(args.appeals, args.operators, args.repeats)


def run(appeals: int, operators: int, repeats: int) -> None:
    from chalicelib.directory import operators as operator_service
    from chalicelib.directory import sources, weights
    from chalicelib.insight.simulation import simulate
    from chalicelib.models import count_requests, create_tables
    from chalicelib.schemas.insight import SimulationRequest
    from chalicelib.schemas.operators import OperatorCreate
    from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet

    create_tables()
    rng = random.Random(20261130)
    team = [operator_service.create_operator(OperatorCreate(name=f"Op {i}", max_load=20)).id for i in range(operators)]
    ours, other = (sources.create_source(SourceCreate(name=name)).id for name in ("Ours", "Other"))
    for source_id in (ours, other):
        weights.replace_weights(source_id, WeightSet([WeightIn(operator_id=o, weight=10) for o in team]))
    started = time.monotonic()
    write_history(other, team, appeals, rng)
    write_history(ours, team, appeals, rng)
    print(f"history written: 2 x {appeals:,} appeals in {time.monotonic() - started:.0f} s")
    request = SimulationRequest.model_validate({"weights": {o: 10 + 5 * i for i, o in enumerate(team)}, "n": appeals})
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        with count_requests() as counts:
            result = simulate(ours, request)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result.appeals == appeals, result.appeals
    requests = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
    print(f"simulate {appeals:,} appeals, {operators} operators (each serving a second source as busy):")
    print(f"  DynamoDB requests: {sum(counts.values())} ({requests})")
    print(f"  median of {repeats}: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU")
    print(f"  predicted p90 wait {result.predicted.p90_wait_seconds} s, recorded {result.recorded.p90_wait_seconds} s")


if __name__ == "__main__":
    main()
