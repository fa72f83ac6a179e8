"""Two weight-set replacements racing never merge (real engine)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib.directory import operators, sources
from chalicelib.directory.weights import get_weights, replace_weights
from chalicelib.schemas.operators import OperatorCreate
from chalicelib.schemas.sources import SourceCreate, WeightIn, WeightSet


def test_GIVEN_two_replacements_racing_WHEN_both_finish_THEN_the_set_is_exactly_one_of_them(real_tables: str) -> None:
    anna = operators.create_operator(OperatorCreate(name="Anna"))
    boris = operators.create_operator(OperatorCreate(name="Boris"))
    source = sources.create_source(SourceCreate(name="Telegram Bot"))
    sets = {
        "anna": WeightSet([WeightIn(operator_id=anna.id, weight=10)]),
        "boris": WeightSet([WeightIn(operator_id=boris.id, weight=20)]),
    }
    outcomes = []
    for _ in range(20):
        replace_weights(source.id, WeightSet([]))
        barrier = threading.Barrier(2)

        def replace(name: str, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            replace_weights(source.id, sets[name])

        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(replace, name) for name in sets]:
                future.result()
        final = {(item.operator_id, item.weight) for item in get_weights(source.id).items}
        outcomes.append(final)

    assert all(final in ({(anna.id, 10)}, {(boris.id, 20)}) for final in outcomes), outcomes
