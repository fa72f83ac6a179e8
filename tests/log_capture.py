"""Every log line a run produces, as it would be printed in Lambda.

The app's logger writes JSON through its own handler to the stdout it saw at
import, which pytest's capture does not hand to a test; so for a while that
handler writes to a buffer instead (the very lines Lambda would print), and a
handler on the root logger keeps everyone else's records (botocore,
pynamodb, Powertools itself) as plain text.
"""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chalicelib.core.observability import SERVICE
from chalicelib.core.observability import logger as app_logger

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Others(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != SERVICE and not record.name.startswith(f"{SERVICE}."):
            self.lines.append(self.format(record))


class LogLines:
    def __init__(self, app_output: io.StringIO, others: _Others) -> None:
        self._app_output = app_output
        self._others = others

    def app_lines(self) -> list[dict[str, Any]]:
        """The app's lines, parsed: a line that is not one JSON object fails the test."""
        return [json.loads(line) for line in self._app_output.getvalue().splitlines() if line]

    def text(self) -> str:
        """Every line, the app's and everyone else's."""
        return self._app_output.getvalue() + "\n".join(self._others.lines)


@contextmanager
def captured_logs(level: int = logging.DEBUG) -> Iterator[LogLines]:
    root = logging.getLogger()
    app = logging.getLogger(SERVICE)
    handler = app_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer, others = io.StringIO(), _Others()
    saved = (root.level, app.level)
    previous_stream = handler.setStream(buffer)
    root.addHandler(others)
    root.setLevel(level)
    app.setLevel(level)
    try:
        yield LogLines(buffer, others)
    finally:
        handler.setStream(previous_stream)
        root.removeHandler(others)
        root.setLevel(saved[0])
        app.setLevel(saved[1])


def emf_metrics(stdout: str) -> dict[str, float]:
    """The metrics in the EMF lines of `stdout`, summed by name."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"]:
                assert definition["Namespace"] == "LeadCRM"
                for metric in definition["Metrics"]:
                    value = blob[metric["Name"]]
                    total = sum(value) if isinstance(value, list) else value
                    found[metric["Name"]] = found.get(metric["Name"], 0) + total
    return found
