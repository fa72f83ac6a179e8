"""Answers, in the browser, for API routes other engineers are building this session, with
EXACTLY the shapes of /work/helpers/s4_contracts.md. Each fake names its contract; once the
real route is merged, drop the fake (`FAKED` lists them) and the tests run against the stack.

Only the routes named here are intercepted (Playwright's `context.route`); every other
request goes to the real local stack. The schedule fake validates with the real
`chalicelib.directory.schedules.WeeklySchedule` and answers its 422 the way
`chalicelib.api.http` does, so field paths are the ones the real route will send.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import ValidationError

from chalicelib.directory.schedules import WeeklySchedule

# Contracts (s4_contracts.md) faked here, by section:
FAKED = {
    "analytics": ["GET /stats/operators", "GET /stats/sources/{id}/timeline"],
    "shifts": [
        "PATCH /me {presence, reason}",
        "GET/PUT/DELETE /me/schedule and /operators/{id}/schedule",
        "GET /schedules/week",
    ],
}


def _json(route: Any, body: Any, status: int = 200) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def _problem(code: str, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return body


@dataclass
class Requests:
    """What the console asked, for the tests to assert on."""

    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    def of(self, method: str, prefix: str) -> list[tuple[str, str, Any]]:
        return [r for r in self.seen if r[0] == method and urlparse(r[1]).path.startswith(prefix)]


def _record(requests: Requests, route: Any) -> tuple[str, str, Any]:
    request = route.request
    body = request.post_data_json if request.post_data else None
    requests.seen.append((request.method, request.url, body))
    return request.method, request.url, body


@dataclass
class AnalyticsFake:
    """Contract "Analytics (helper analytics, issue 19)": GET /stats/operators and the source timeline."""

    base_url: str
    operators: list[dict[str, Any]]
    hours: list[dict[str, Any]]
    requests: Requests = field(default_factory=Requests)

    def install(self, context: Any) -> None:
        context.route(re.compile(re.escape(self.base_url) + r"/stats/operators(\?.*)?$"), self._operators)
        context.route(re.compile(re.escape(self.base_url) + r"/stats/sources/[^/]+/timeline(\?.*)?$"), self._timeline)

    def _operators(self, route: Any) -> None:
        _, url, _ = _record(self.requests, route)
        query = parse_qs(urlparse(url).query)
        start, end = date.fromisoformat(query["from"][0]), date.fromisoformat(query["to"][0])
        if end < start:
            _json(
                route,
                _problem("invalid_input", "request validation failed", [_to_error("to must not be before from")]),
                422,
            )
            return
        body = {"from": str(start), "to": str(end), "as_of": datetime.now(UTC).isoformat(), "operators": self.operators}
        _json(route, body)

    def _timeline(self, route: Any) -> None:
        _, url, _ = _record(self.requests, route)
        query = parse_qs(urlparse(url).query)
        source_id = urlparse(url).path.split("/")[-2]
        body = {
            "source_id": source_id,
            "from": query["from"][0],
            "to": query["to"][0],
            "as_of": datetime.now(UTC).isoformat(),
            "hours": self.hours,
        }
        _json(route, body)


def _to_error(message: str) -> dict[str, Any]:
    return {"loc": ["query", "to"], "path": "query.to", "msg": message, "type": "value_error"}


def leaderboard_row(operator: dict[str, Any], **numbers: Any) -> dict[str, Any]:
    """One row of GET /stats/operators (contract shape), with the given numbers."""
    row = {
        "operator_id": operator["id"],
        "name": operator["name"],
        "assigned": 0,
        "accepted": 0,
        "closed": 0,
        "accept_p50_seconds": None,
        "accept_p90_seconds": None,
        "close_p50_seconds": None,
        "close_p90_seconds": None,
        "sla_lapses": 0,
        "reassignments": 0,
        "escalations": 0,
        "transferred": 0,
        "paid": 0,
        "conversion": None,
    }
    row.update(numbers)
    return row


def timeline_hours(first_hour: datetime, counts: list[tuple[int, int, int, float | None]]) -> list[dict[str, Any]]:
    """Hours of the timeline contract from (arrivals, assigned, waiting, median wait) tuples."""
    return [
        {
            "hour": (first_hour + timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
            "arrivals": arrivals,
            "assigned": assigned,
            "waiting": waiting,
            "median_wait_seconds": wait,
        }
        for i, (arrivals, assigned, waiting, wait) in enumerate(counts)
    ]


@dataclass
class ShiftsFake:
    """Contract "Presence, shifts, time off (helper shifts, issue 18)": PATCH /me with presence,
    /me/schedule (GET answers 404 while there is none), and GET /schedules/week."""

    base_url: str
    me: dict[str, Any]
    week_rows: list[dict[str, Any]]
    schedule: dict[str, Any] | None = None
    # GET/PUT/DELETE /operators/{id}/schedule (the admin's way), by operator id.
    others: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: Requests = field(default_factory=Requests)

    def install(self, context: Any) -> None:
        context.route(re.compile(re.escape(self.base_url) + r"/me$"), self._me)
        context.route(re.compile(re.escape(self.base_url) + r"/me/schedule$"), self._schedule)
        context.route(re.compile(re.escape(self.base_url) + r"/operators/[^/]+/schedule$"), self._schedule)
        context.route(re.compile(re.escape(self.base_url) + r"/schedules/week(\?.*)?$"), self._week)

    def _me(self, route: Any) -> None:
        if route.request.method == "GET":
            self._me_with_presence(route)
            return
        if route.request.method != "PATCH":
            route.continue_()
            return
        _, _, body = _record(self.requests, route)
        presence = body.get("presence")
        if presence not in ("available", "paused"):
            route.continue_()
            return
        self.me = {
            **self.me,
            "presence": presence,
            "presence_reason": body.get("reason") if presence == "paused" else None,
            "presence_until": None,
        }
        _json(route, self.me)

    def _me_with_presence(self, route: Any) -> None:
        """The real GET /me, its operator given the presence fields the contract adds (once set here).
        Asked without If-None-Match: the real ETag does not change when only the fake's presence does."""
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "if-none-match"}
        response = route.fetch(headers=headers)
        body = response.json()
        operator = body.get("operator") if isinstance(body, dict) else None
        if "presence" in self.me and operator and operator.get("id") == self.me["id"]:
            for key in ("presence", "presence_reason", "presence_until"):
                operator[key] = self.me.get(key)
        route.fulfill(status=response.status, content_type="application/json", body=json.dumps(body))

    def _schedule(self, route: Any) -> None:
        method, url, body = _record(self.requests, route)
        parts = urlparse(url).path.split("/")
        whose = None if parts[-2] == "me" else parts[-2]
        stored = self.schedule if whose is None else self.others.get(whose)
        if method == "GET":
            if stored is None:
                _json(route, _problem("not_found", "this operator has no schedule: always on shift"), 404)
            else:
                _json(route, stored)
        elif method == "PUT":
            try:
                schedule = WeeklySchedule.model_validate(body)
            except ValidationError as invalid:
                errors = [
                    {
                        "loc": ["body", *error["loc"]],
                        "path": ".".join(str(part) for part in ("body", *error["loc"])),
                        "msg": error["msg"],
                        "type": error["type"],
                    }
                    for error in invalid.errors(include_url=False, include_input=False)
                ]
                _json(route, _problem("invalid_input", "request validation failed", errors), 422)
                return
            self._keep(whose, schedule.model_dump(mode="json"))
            _json(route, schedule.model_dump(mode="json"))
        elif method == "DELETE":
            self._keep(whose, None)
            route.fulfill(status=204, body="")
        else:
            route.continue_()

    def _keep(self, whose: str | None, schedule: dict[str, Any] | None) -> None:
        if whose is None:
            self.schedule = schedule
        elif schedule is None:
            self.others.pop(whose, None)
        else:
            self.others[whose] = schedule

    def _week(self, route: Any) -> None:
        _, url, _ = _record(self.requests, route)
        query = parse_qs(urlparse(url).query)
        start = date.fromisoformat(query["start"][0])
        end = start + timedelta(days=6)
        rows = []
        for row in self.week_rows:
            # Shifts given as (weekday, "HH:MM", hours) in UTC, laid on the asked week.
            shifts = []
            for weekday, hh_mm, hours in row["pattern"]:
                at = datetime.combine(start + timedelta(days=weekday), datetime.strptime(hh_mm, "%H:%M").time(), UTC)
                shifts.append(
                    {
                        "start": at.isoformat().replace("+00:00", "Z"),
                        "end": (at + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
                    }
                )
            out = {key: value for key, value in row.items() if key != "pattern"}
            rows.append({**out, "shifts": shifts})
        _json(route, {"start": str(start), "end": str(end), "operators": rows})
