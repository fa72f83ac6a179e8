"""Run one scheduled job now against the local stack: `python -m scripts.local.run_job NAME`.

`make reassign`, `audit`, `rescore` and `train` call this. It uses the DynamoDB
and tables of this checkout's running `make run` stack, on whatever ports it
was started (read from the state file it writes, see `stack_state`), or the
DynamoDB AWS_ENDPOINT_URL_DYNAMODB names when set; starts nothing; and prints
the job's report as JSON. No stack of this checkout running: it says so and
exits 1, rather than try a default port another stack may hold.

Exit codes: 0 done, 1 the stack is not reachable (or the job failed), 2 usage.
"""

from __future__ import annotations

import os
import sys

from scripts.local.local_stack import prepare_environment
from scripts.local.stack_state import NoStack, endpoint_for_tools

START_FIRST = "start the local stack first with `make run` (in another terminal)"


def usage(names: list[str]) -> str:
    return f"usage: python -m scripts.local.run_job NAME\n  NAME: one of {', '.join(names)}"


def reachability_problem(endpoint: str, table_prefix: str) -> str | None:
    """Why the stack's DynamoDB cannot serve a job, or None when it can."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ["AWS_DEFAULT_REGION"],
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    try:
        names = [name for page in client.get_paginator("list_tables").paginate() for name in page["TableNames"]]
    except (BotoCoreError, ClientError) as exc:
        return f"DynamoDB at {endpoint} is not reachable ({type(exc).__name__}): {START_FIRST}"
    if not any(name.startswith(f"{table_prefix}-") for name in names):
        return f"DynamoDB at {endpoint} has no {table_prefix}-* tables: {START_FIRST}"
    return None


def use_running_stack() -> str | None:
    """Points this process at the running stack's DynamoDB and tables; why it cannot, or None."""
    prepare_environment()
    try:
        endpoint, table_prefix = endpoint_for_tools()
    except NoStack as exc:
        return str(exc)
    # chalicelib reads both from here at call time.
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ["TABLE_PREFIX"] = table_prefix
    return reachability_problem(endpoint, table_prefix)


def main(argv: list[str]) -> int:
    from chalicelib.jobs import JOBS

    names = list(JOBS)
    if argv in (["-h"], ["--help"]):
        print(usage(names))
        return 0
    if len(argv) != 1 or argv[0] not in JOBS:
        print(usage(names), file=sys.stderr)
        return 2
    job = JOBS[argv[0]]

    problem = use_running_stack()
    if problem:
        print(problem, file=sys.stderr)
        return 1

    report = job.run()
    print(report.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
