"""DynamoDB requests per conversation operation, and how they grow with a conversation's length.

Counts every DynamoDB call (botocore hook) while the real routes run through the
Chalice test client: the first message (intake), a follow-up on a sticky source,
a reply for the source's own bot (`pending`), and reading a page of 50 messages
from conversations of 60 and 600 messages: the page costs the same however long
the conversation is (one GetItem, one BatchGetItem of known keys).

    python -m bench.conversation

DynamoDB Local when Java is there, else moto (request counts hold on both).
"""

from __future__ import annotations

import itertools
import os

from chalice.test import Client

from app import app
from bench.intake import Bench, dynamodb
from chalicelib.models import create_tables


def main() -> None:
    os.environ["TABLE_PREFIX"] = "leadcrm-dev"
    with dynamodb() as engine:
        create_tables()
        with Client(app, stage_name="dev") as client:
            bench = Bench(client)
            operator = bench.call("post", "/operators", {"name": "Anna", "max_load": 1000})[1]
            source = bench.call("post", "/sources", {"name": "Web chat", "sticky": True})[1]
            bench.call("put", f"/sources/{source['id']}/weights", [{"operator_id": operator["id"], "weight": 10}])
            leads = itertools.count()
            ids = itertools.count()

            def message(lead: str) -> dict[str, object]:
                body = {
                    "lead_external_id": lead,
                    "source_id": source["id"],
                    "message": "Hello",
                    "message_id": f"b{next(ids)}",
                }
                status, reply = bench.call("post", "/appeals", body)
                assert status in (200, 201), reply
                return reply

            def conversation(length: int) -> str:
                lead = f"bench:conv{next(leads)}"
                appeal = message(lead)
                for _ in range(length - 1):
                    message(lead)
                return str(appeal["id"])

            talking = f"bench:talk{next(leads)}"
            open_appeal = message(talking)["id"]
            replies = itertools.count()
            short, long = conversation(60), conversation(600)
            rows = [
                bench.measure("first message (intake)", lambda: message(f"bench:new{next(leads)}")),
                bench.measure("follow-up on a sticky source", lambda: message(talking)),
                bench.measure(
                    "reply for the source's bot",
                    lambda: bench.call(
                        "post",
                        f"/appeals/{open_appeal}/messages",
                        {"text": "Hi", "client_message_id": f"r{next(replies)}"},
                    ),
                ),
                bench.measure(
                    "page of 50, conversation of 60", lambda: bench.call("get", f"/appeals/{short}/messages")
                ),
                bench.measure(
                    "page of 50, conversation of 600", lambda: bench.call("get", f"/appeals/{long}/messages")
                ),
            ]
    print(f"Conversation costs on {engine} (mean DynamoDB requests per call, 20 calls each)\n")
    print(f"| {'operation':<34} | requests | breakdown |")
    print(f"|{'-' * 36}|----------|-----------|")
    for row in rows:
        print(f"| {row['operation']:<34} | {row['requests']:>8g} | {row['breakdown']} |")


if __name__ == "__main__":
    main()
