"""The real engine answers and the services run on it unchanged."""

from __future__ import annotations

from chalicelib.access.principal import SYSTEM
from chalicelib.directory import operators, sources
from chalicelib.directory.weights import replace_weights
from chalicelib.routing import appeals
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.appeals import AppealCreate
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet


def test_GIVEN_dynamodb_local_WHEN_an_appeal_is_closed_THEN_the_waiting_one_takes_the_slot_and_then_frees_it(
    real_tables: str,
) -> None:
    anna = operators.create_operator(OperatorCreate(name="Anna", max_load=1))
    source = sources.create_source(SourceCreate(name="Telegram Bot"))
    replace_weights(source.id, WeightSet([WeightIn(operator_id=anna.id, weight=10)]))

    first = submit_appeal(AppealCreate(lead_external_id="tg:1", source_id=source.id, message="hi"), viewer=SYSTEM)
    second = submit_appeal(AppealCreate(lead_external_id="tg:2", source_id=source.id, message="hi"), viewer=SYSTEM)
    assert operators.get_operator(anna.id).current_load == 1
    appeals.close_appeal(first.appeal.id, viewer=SYSTEM)

    assert first.appeal.status == "active"
    assert second.appeal.status == "waiting"
    assert appeals.get_appeal(second.appeal.id, viewer=SYSTEM).operator.id == anna.id
    assert operators.get_operator(anna.id).current_load == 1
    appeals.close_appeal(second.appeal.id, viewer=SYSTEM)
    assert operators.get_operator(anna.id).current_load == 0


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel writes them) of the sockets listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_GIVEN_dynamodb_local_WHEN_listening_THEN_only_on_loopback(dynamodb_local: str) -> None:
    port = int(dynamodb_local.rsplit(":", 1)[1])

    addresses = _listening_addresses(port)

    # 127.0.0.1, as IPv4 or IPv4-mapped IPv6; never 0.0.0.0 or ::.
    assert addresses
    assert addresses <= {"0100007F", "0000000000000000FFFF00000100007F"}
