"""The HTTP contract of every route, in one table: what it reads, what it answers.

The route files stay thin (parse → service → respond), so the models a route
parses and returns are written down here once, keyed by (method, path), and
`chalicelib.api.openapi` builds the OpenAPI document from this table plus the
app's live routes. `tests/contract/test_openapi_contract.py` fails when a route has no
row here, so the document cannot silently fall behind the code.

What is *not* in this table is derived, so it cannot drift:
  - path parameters: from the route template;
  - 400/413/415/422 for a body, 422 (and 400 for a cursor) for a query;
  - 401/403 and the bearer requirement: from the route's authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel, RootModel

from chalicelib.schemas.appeals import AppealCreate, AppealHistory, AppealOut, OperatorChoice, WaitingQuery
from chalicelib.schemas.auth import ApiKeyIssued, ApiKeyList, ApiKeyRotation, MeOut
from chalicelib.schemas.common import Health, Page, PageQuery
from chalicelib.schemas.insight import (
    ExportOut,
    ExportRequest,
    SimulationOut,
    SimulationRequest,
    SuggestionsApplied,
    SuggestionsOut,
    SuggestionsQuery,
)
from chalicelib.schemas.jobs import (
    AuditReport,
    FollowupReport,
    JobName,
    ReassignReport,
    RescoreReport,
    ShiftReport,
    TrainingReport,
    TuneReport,
)
from chalicelib.schemas.leads import (
    DealOut,
    DealStageChange,
    LeadHistory,
    LeadOut,
    LeadPatch,
    LeadsQuery,
    NoteCreate,
    NoteOut,
    StageChange,
    Transfer,
)
from chalicelib.schemas.messages import DeliveryReport, MessageOut, ReplyCreate
from chalicelib.schemas.operator_bot import BotAck, OperatorBotUpdate
from chalicelib.schemas.operators import (
    OperatorAppealsQuery,
    OperatorCreate,
    OperatorOut,
    OperatorPatch,
    OperatorUpdateQuery,
    PresenceChange,
    TelegramLinkOut,
)
from chalicelib.schemas.schedules import WeeklySchedule
from chalicelib.schemas.scoring import ScoringStatus
from chalicelib.schemas.shifts import WeekOut, WeekQuery
from chalicelib.schemas.sources import (
    HistoryQuery,
    SourceCreate,
    SourceOut,
    SourcePatch,
    WeightHistoryOut,
    WeightSet,
    WeightsOut,
)
from chalicelib.schemas.stats import (
    OperatorStatsOut,
    OperatorStatsQuery,
    SourceDistribution,
    SourceOperators,
    SourceTimelineOut,
    TimelineQuery,
)
from chalicelib.schemas.telegram import TelegramConnect, TelegramConnection, TelegramUpdate, WebhookAck
from chalicelib.schemas.webhooks import DeliveryOut, WebhookCreate, WebhookCreated, WebhookOut


class OpenApiDocument(RootModel[dict[str, Any]]):
    """This very document (OpenAPI 3.1)."""


# One model, or several (the body is one of them), or None: no body (204).
ResponseModel = type[BaseModel] | tuple[type[BaseModel], ...] | None


@dataclass(frozen=True)
class Reply:
    model: ResponseModel
    description: str


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    required: bool = True
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string", "minLength": 1, "maxLength": 256})


@dataclass(frozen=True)
class Contract:
    summary: str
    tag: str
    # Success statuses; most routes have one, POST /appeals has two (new vs repeated message).
    replies: dict[int, Reply]
    body: type[BaseModel] | None = None
    # False: an empty body means "all defaults" (the route parses only a body it was sent).
    body_required: bool = True
    query: type[BaseModel] | None = None
    # Statuses the route itself can answer beyond those derived from body/query/auth (see module doc).
    errors: frozenset[int] = frozenset()
    description: str | None = None
    # Stricter schemas than "a non-empty string" for particular path parameters.
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: tuple[Header, ...] = ()


def ok(model: ResponseModel, description: str = "OK") -> dict[int, Reply]:
    return {200: Reply(model, description)}


def created(model: ResponseModel, description: str = "Created") -> dict[int, Reply]:
    return {201: Reply(model, description)}


# Error statuses by cause. A write that runs out of retries under contention answers 503.
MISSING = frozenset({404})
BUSY = frozenset({503})
CONFLICT = frozenset({409})

APPEALS_PAGE = Page[AppealOut]
JOB_REPORTS = (ReassignReport, AuditReport, RescoreReport, TrainingReport, TuneReport, ShiftReport, FollowupReport)

# Skills and the line's order (docs/routing.md).
TAGS_422 = (
    "Tags are `name:value` in lowercase (`lang:uk`); a malformed one is a 422 whose path names the item "
    "(`body.tags.1`, `body.required_tags.0`, type `tag_format`)."
)
SOURCE_RULES = (
    "`required_tags`: only operators with every one (and every tag the appeal itself requires) are drawn; "
    "`fallback_after_seconds`: after that long waiting, anyone may take it; `line_order`: fifo, or priority "
    "(VIP, hot, returning first, never overtaken by an appeal arriving more than `max_jump_seconds` later). " + TAGS_422
)

CONTRACT: dict[tuple[str, str], Contract] = {
    # --- public ---------------------------------------------------------------
    ("GET", "/health"): Contract("Liveness probe", "meta", ok(Health)),
    ("GET", "/openapi.json"): Contract(
        "This OpenAPI 3.1 document",
        "meta",
        ok(OpenApiDocument),
        description="Generated from the pydantic models and the live route table; public.",
    ),
    ("POST", "/channels/telegram/{source_id}"): Contract(
        "Telegram webhook for a source",
        "channels",
        ok(WebhookAck, "Acknowledged (a non-message update is acknowledged without being queued)"),
        body=TelegramUpdate,
        errors=frozenset({401}),
        description=(
            "Telegram calls this with the secret set as `telegram_secret_token` on the source. "
            "A wrong secret and an unknown source answer the same 401."
        ),
        headers=(
            Header(
                "X-Telegram-Bot-Api-Secret-Token",
                "The source's webhook secret (PATCH /sources/{source_id} telegram_secret_token)",
            ),
        ),
    ),
    ("GET", "/"): Contract(
        "The API's address: to the web console",
        "console",
        {302: Reply(None, "To /console/")},
        errors=MISSING,
        description="Public: a person opening the API's address in a browser lands on the console.",
    ),
    ("GET", "/console"): Contract(
        "The web console's page",
        "console",
        {200: Reply(None, "index.html (text/html)"), 308: Reply(None, "To /console/ (the page is read as a folder)")},
        errors=MISSING,
        description="Public: the page signs its user in (token, or Cognito's hosted UI) before it calls the API.",
    ),
    ("GET", "/console/{file}"): Contract(
        "A console asset, or its sign-in settings (config.json)",
        "console",
        ok(None, "JavaScript, CSS, SVG or JSON; hashed names are cached for a year"),
        errors=MISSING,
    ),
    ("POST", "/telegram/operator-bot"): Contract(
        "Telegram webhook of the operator bot",
        "channels",
        ok(BotAck, "Acknowledged (answers go back through the Bot API)"),
        body=OperatorBotUpdate,
        errors=frozenset({401}),
        description=(
            "Telegram calls this with OPERATOR_BOT_WEBHOOK_SECRET as its secret token (checked in constant "
            "time; wrong or missing: 401, nothing done): /start <code>, /pause, /resume and button presses."
        ),
        headers=(Header("X-Telegram-Bot-Api-Secret-Token", "The operator bot's webhook secret"),),
    ),
    # --- who am I (auth) ----------------------------------------------------------
    ("GET", "/me"): Contract("The caller: role and operator profile", "me", ok(MeOut)),
    ("PATCH", "/me"): Contract(
        "Pause or resume the calling operator",
        "me",
        ok(OperatorOut),
        body=PresenceChange,
        errors=MISSING | BUSY,
        description=(
            '`{"presence": "paused", "reason": "lunch"}` stops new appeals reaching the operator and puts its '
            "unaccepted appeals back through distribution at once (accepted ones stay its own); "
            '`{"presence": "available"}` resumes and hands its sources\' waiting lines its free capacity at once '
            "(off shift by its schedule, it becomes `off_shift` instead). The older `is_active: false / true` "
            "means the same pause / resume (`is_active` itself, employment, is an admin's). "
            "404 when the token names no operator; 403 when an admin deactivated it."
        ),
    ),
    ("GET", "/me/schedule"): Contract(
        "The calling operator's working hours",
        "schedules",
        ok(WeeklySchedule),
        errors=MISSING,
        description="404 when it has no schedule (then it is always on shift), or the token names no operator.",
    ),
    ("PUT", "/me/schedule"): Contract(
        "Set the calling operator's working hours",
        "schedules",
        ok(WeeklySchedule),
        body=WeeklySchedule,
        errors=MISSING | BUSY,
        description="As PUT /operators/{operator_id}/schedule for the operator the token names.",
    ),
    ("DELETE", "/me/schedule"): Contract(
        "Remove the calling operator's working hours (always on shift)",
        "schedules",
        {204: Reply(None, "Removed")},
        errors=MISSING | BUSY,
    ),
    ("GET", "/me/appeals"): Contract(
        "The calling operator's appeals",
        "me",
        ok(APPEALS_PAGE),
        query=OperatorAppealsQuery,
        errors=MISSING,
        description="As GET /operators/{operator_id}/appeals for the operator the token names.",
    ),
    # --- operators ----------------------------------------------------------------
    ("POST", "/operators"): Contract(
        "Create an operator",
        "operators",
        created(OperatorOut),
        body=OperatorCreate,
        description=TAGS_422,
    ),
    ("GET", "/operators"): Contract(
        "List operators, newest first", "operators", ok(Page[OperatorOut]), query=PageQuery
    ),
    ("GET", "/operators/{operator_id}"): Contract("Read an operator", "operators", ok(OperatorOut), errors=MISSING),
    ("PATCH", "/operators/{operator_id}"): Contract(
        "Change an operator",
        "operators",
        ok(OperatorOut),
        body=OperatorPatch,
        query=OperatorUpdateQuery,
        errors=MISSING | BUSY,
        description=(
            "Activating it or changing its limit hands the waiting lines of its sources out at once; "
            "`redistribute=true` needs `is_active: false` in the body (422 otherwise). "
            '`presence: "paused"` (optional `reason`) pauses it, its unaccepted appeals going back through '
            'distribution at once; `presence: "available"` resumes it (off_shift while its schedule says so). '
            "`is_active` is employment: false ends its access, which only an admin can give back. "
            "Giving it `tags` hands it the waiting appeals it now has the skills for. "
        )
        + TAGS_422,
    ),
    ("GET", "/operators/{operator_id}/appeals"): Contract(
        "An operator's appeals", "operators", ok(APPEALS_PAGE), query=OperatorAppealsQuery, errors=MISSING
    ),
    ("POST", "/operators/{operator_id}/telegram-link"): Contract(
        "A one-time code and deep link linking a Telegram chat to the operator",
        "operators",
        created(TelegramLinkOut, "Valid 15 minutes, single use"),
        errors=MISSING | CONFLICT,
        description="An operator may ask for its own; 409 when the operator bot is not configured.",
    ),
    ("GET", "/operators/{operator_id}/schedule"): Contract(
        "An operator's working hours and time off",
        "schedules",
        ok(WeeklySchedule),
        errors=MISSING,
        description="Admin, or the operator itself (403 otherwise). 404 when it has no schedule: always on shift.",
    ),
    ("PUT", "/operators/{operator_id}/schedule"): Contract(
        "Set an operator's working hours and time off",
        "schedules",
        ok(WeeklySchedule),
        body=WeeklySchedule,
        errors=MISSING | BUSY,
        description=(
            "A weekly schedule in an IANA time zone (several intervals a day; `overnight: true` for one that "
            "ends the next day) and dated exceptions (`off` days, `extra` hours). 422 names the field: an "
            "unknown `time_zone`, an interval that ends before it starts (`week.mon.0.end`), overlapping "
            "intervals or exceptions (`exceptions.1.first_day`). Presence and the next transition are settled "
            "at once: off shift now, the operator becomes `off_shift` (and its unaccepted appeals go back); "
            "a pause is kept. Admin, or the operator itself."
        ),
    ),
    ("DELETE", "/operators/{operator_id}/schedule"): Contract(
        "Remove an operator's working hours (always on shift)",
        "schedules",
        {204: Reply(None, "Removed")},
        errors=MISSING | BUSY,
        description="Admin, or the operator itself. An off-shift operator becomes available at once.",
    ),
    ("GET", "/schedules/week"): Contract(
        "Everyone's shifts, time off and presence for a week",
        "schedules",
        ok(WeekOut),
        query=WeekQuery,
        description=(
            "Shifts as UTC spans clipped to the week (Monday `start`, default this week's, UTC, through Sunday). "
            "Admin: every operator; an operator: only its own row."
        ),
    ),
    ("DELETE", "/operators/{operator_id}/telegram-link"): Contract(
        "Unlink the operator's Telegram chat", "operators", {204: Reply(None, "Unlinked")}, errors=MISSING | BUSY
    ),
    # --- sources ----------------------------------------------------------------------
    ("POST", "/sources"): Contract(
        "Create a source (channel bot)",
        "sources",
        created(SourceOut),
        body=SourceCreate,
        description=SOURCE_RULES,
    ),
    ("GET", "/sources"): Contract("List sources, newest first", "sources", ok(Page[SourceOut]), query=PageQuery),
    ("GET", "/sources/{source_id}"): Contract("Read a source", "sources", ok(SourceOut), errors=MISSING),
    ("PATCH", "/sources/{source_id}"): Contract(
        "Change a source",
        "sources",
        ok(SourceOut),
        body=SourcePatch,
        errors=MISSING | BUSY,
        description=SOURCE_RULES + " `line_order` applies to appeals that arrive afterwards.",
    ),
    ("PUT", "/sources/{source_id}/weights"): Contract(
        "Replace a source's operator weights",
        "sources",
        ok(WeightsOut),
        body=WeightSet,
        errors=MISSING | CONFLICT | BUSY,
        description="Unknown operator → 404; an operator listed twice → 422; new capacity serves the line at once.",
    ),
    ("GET", "/sources/{source_id}/weights"): Contract(
        "A source's weights and shares", "sources", ok(WeightsOut), errors=MISSING
    ),
    ("POST", "/sources/{source_id}/simulate"): Contract(
        "What-if: replay the source's last N appeals against a proposed weight set",
        "insight",
        ok(SimulationOut),
        body=SimulationRequest,
        errors=MISSING,
        description=(
            "Never writes. Predicted shares, waits, SLA lapses and loads next to the recorded ones. "
            "422 names the field: an unknown operator (body.weights.<id>), n over 10,000 (body.n), a negative weight."
        ),
    ),
    ("GET", "/sources/{source_id}/suggestions"): Contract(
        "Each operator's conversion (Beta posterior) and the suggested weights, with evidence",
        "insight",
        ok(SuggestionsOut),
        query=SuggestionsQuery,
        errors=MISSING,
        description="Conversion: appeals whose lead reached `transferred`, over the last n appeals. Reads only.",
    ),
    ("POST", "/sources/{source_id}/suggestions/apply"): Contract(
        "Apply the suggested weights (the weights' history says `suggestion`)",
        "insight",
        ok(SuggestionsApplied),
        query=SuggestionsQuery,
        errors=MISSING | CONFLICT | BUSY,
    ),
    ("GET", "/sources/{source_id}/weights/history"): Contract(
        "A source's weight changes with their reasons, newest first",
        "sources",
        ok(WeightHistoryOut),
        query=HistoryQuery,
        errors=MISSING,
    ),
    ("GET", "/sources/{source_id}/waiting"): Contract(
        "A source's waiting line, oldest first", "appeals", ok(APPEALS_PAGE), query=WaitingQuery, errors=MISSING
    ),
    ("GET", "/sources/{source_id}/keys"): Contract(
        "A source's live bot API keys", "sources", ok(ApiKeyList), errors=MISSING
    ),
    ("POST", "/sources/{source_id}/keys"): Contract(
        "Issue a new bot API key (rotation)",
        "sources",
        created(ApiKeyIssued, "The new key; its secret is shown this once"),
        body=ApiKeyRotation,
        body_required=False,
        errors=MISSING | BUSY,
    ),
    ("DELETE", "/sources/{source_id}/keys/{key_id}"): Contract(
        "Revoke a bot API key",
        "sources",
        {204: Reply(None, "Revoked")},
        errors=MISSING | BUSY,
    ),
    # --- appeals ------------------------------------------------------------------------
    ("POST", "/appeals"): Contract(
        "Submit a message (creates or joins an appeal)",
        "appeals",
        {
            201: Reply(AppealOut, "A new appeal: assigned (`active`) or in the line (`waiting`)"),
            200: Reply(
                AppealOut, "A repeated (source_id, message_id), or a follow-up on a sticky source's open appeal"
            ),
        },
        body=AppealCreate,
        errors=MISSING | CONFLICT | BUSY,
        description=(
            "`required_tags` (skills on top of the source's) and `vip` (first in a priority line) are stored on "
            "the appeal. " + TAGS_422
        ),
    ),
    ("GET", "/appeals/{appeal_id}"): Contract("Read an appeal", "appeals", ok(AppealOut), errors=MISSING),
    ("POST", "/appeals/{appeal_id}/accept"): Contract(
        "The assigned operator acknowledges the appeal",
        "appeals",
        ok(AppealOut),
        body=OperatorChoice,
        body_required=False,
        errors=MISSING | CONFLICT | BUSY,
        description="Without a body the operator is the one the caller's token names (400 if it names none).",
    ),
    ("POST", "/appeals/{appeal_id}/assign"): Contract(
        "Hand a waiting appeal to a chosen operator",
        "appeals",
        ok(AppealOut),
        body=OperatorChoice,
        errors=MISSING | CONFLICT | BUSY,
    ),
    ("POST", "/appeals/{appeal_id}/close"): Contract(
        "Close an appeal", "appeals", ok(AppealOut), errors=MISSING | CONFLICT | BUSY
    ),
    ("GET", "/appeals/{appeal_id}/history"): Contract(
        "An appeal's events and routing decisions", "appeals", ok(AppealHistory), errors=MISSING
    ),
    ("GET", "/appeals/{appeal_id}/messages"): Contract(
        "An appeal's conversation, oldest first",
        "appeals",
        ok(Page[MessageOut]),
        query=PageQuery,
        errors=MISSING,
        description="Every inbound and outbound message; an operator reads only its own appeals' (else 404).",
    ),
    ("POST", "/appeals/{appeal_id}/messages"): Contract(
        "Answer the lead",
        "appeals",
        {
            201: Reply(MessageOut, "Recorded and sent (or handed to the source's bot)"),
            200: Reply(MessageOut, "Repeated client_message_id: the message it made"),
        },
        body=ReplyCreate,
        errors=MISSING | CONFLICT | BUSY,
        description=(
            "By the appeal's operator or an admin. A source with a connected Telegram bot sends it at once "
            "(status sent, or failed with a reason); any other source's bot gets a `message.outbound` event "
            "and reports back. Accepts the appeal if it was not yet. The same client_message_id with "
            "another text: 409."
        ),
    ),
    ("POST", "/appeals/{appeal_id}/messages/{message_id}/status"): Contract(
        "A source's bot reports a reply's delivery",
        "appeals",
        ok(MessageOut),
        body=DeliveryReport,
        errors=MISSING | CONFLICT,
        description="With the source's bot key; a message already sent is not marked failed (409).",
    ),
    # --- leads ---------------------------------------------------------------------------
    ("POST", "/sources/{source_id}/telegram/connect"): Contract(
        "Connect the source's own Telegram bot",
        "sources",
        ok(TelegramConnection),
        body=TelegramConnect,
        errors=MISSING | BUSY,
        description=(
            "Checks the token with getMe (a refused token: 422), sets the bot's one webhook to this API "
            "with a new secret, and keeps the token write-only (SSM Parameter Store)."
        ),
    ),
    ("DELETE", "/sources/{source_id}/telegram/connect"): Contract(
        "Disconnect the source's Telegram bot",
        "sources",
        {204: Reply(None, "Webhook deleted, token forgotten")},
        errors=MISSING | BUSY,
    ),
    ("POST", "/appeals/{appeal_id}/notes"): Contract(
        "Add a note to an appeal",
        "appeals",
        created(NoteOut),
        body=NoteCreate,
        errors=MISSING | BUSY,
        description=(
            "By the appeal's operator or an admin (another operator: 404). Stored as a note on the appeal's lead "
            "naming the appeal; on an accepted appeal it is activity: the follow-up clock starts again."
        ),
    ),
    ("GET", "/appeals/{appeal_id}/notes"): Contract(
        "An appeal's notes, newest first",
        "appeals",
        ok(Page[NoteOut]),
        query=PageQuery,
        errors=MISSING,
        description="By the appeal's operator or an admin (another operator: 404).",
    ),
    ("POST", "/leads/{lead_id}/notes"): Contract(
        "Add a note to a lead",
        "leads",
        created(NoteOut),
        body=NoteCreate,
        errors=MISSING | BUSY,
        description="By an admin, or an operator on the lead of one of its own appeals (another lead: 404).",
    ),
    ("GET", "/leads/{lead_id}/notes"): Contract(
        "A lead's notes, newest first", "leads", ok(Page[NoteOut]), query=PageQuery, errors=MISSING
    ),
    ("GET", "/leads"): Contract("List or find leads", "leads", ok(Page[LeadOut]), query=LeadsQuery),
    ("GET", "/leads/{lead_id}"): Contract("Read a lead", "leads", ok(LeadOut), errors=MISSING),
    ("PATCH", "/leads/{lead_id}"): Contract(
        "Change a lead's contact details", "leads", ok(LeadOut), body=LeadPatch, errors=MISSING | BUSY
    ),
    ("POST", "/leads/{lead_id}/stage"): Contract(
        "Move a lead along the funnel", "leads", ok(LeadOut), body=StageChange, errors=MISSING | CONFLICT | BUSY
    ),
    ("POST", "/leads/{lead_id}/transfer"): Contract(
        "Hand a qualified lead to sales (creates its deal)",
        "leads",
        created(Transfer),
        errors=MISSING | CONFLICT | BUSY,
    ),
    ("POST", "/leads/{lead_id}/analyze"): Contract("Score a lead now", "leads", ok(LeadOut), errors=MISSING | BUSY),
    ("GET", "/leads/{lead_id}/history"): Contract("A lead's funnel events", "leads", ok(LeadHistory), errors=MISSING),
    ("GET", "/leads/{lead_id}/appeals"): Contract(
        "A lead's appeals from every channel", "leads", ok(APPEALS_PAGE), query=PageQuery, errors=MISSING
    ),
    # --- deals ----------------------------------------------------------------------------
    ("GET", "/deals"): Contract("List deals, newest first", "deals", ok(Page[DealOut]), query=PageQuery),
    ("GET", "/deals/{deal_id}"): Contract("Read a deal", "deals", ok(DealOut), errors=MISSING),
    ("POST", "/deals/{deal_id}/stage"): Contract(
        "Move a deal one step", "deals", ok(DealOut), body=DealStageChange, errors=MISSING | CONFLICT | BUSY
    ),
    # --- stats -----------------------------------------------------------------------------
    ("GET", "/stats/distribution"): Contract(
        "Per-source target and actual shares", "stats", ok(Page[SourceDistribution]), query=PageQuery
    ),
    ("GET", "/stats/sources/{source_id}/operators"): Contract(
        "A source's operators and their availability", "stats", ok(SourceOperators), errors=MISSING
    ),
    ("GET", "/stats/operators"): Contract(
        "Response times and outcomes per operator over a range of days",
        "stats",
        ok(OperatorStatsOut),
        query=OperatorStatsQuery,
        errors=MISSING,
        description=(
            "Kept from the appeals and leads streams (seconds behind; `as_of` says how fresh). Admins see every "
            "operator (or the source's, with `source_id`), an operator only its own row. Percentiles are the upper "
            "bound of a histogram bucket. `to` before `from`, or more than 366 days → 422 on query.to; an unknown "
            "`source_id` → 404. Cost: one Query of days × active operators rows."
        ),
    ),
    ("GET", "/stats/sources/{source_id}/timeline"): Contract(
        "A source's hourly arrivals, assignments, waiting line and median wait",
        "stats",
        ok(SourceTimelineOut),
        query=TimelineQuery,
        errors=MISSING,
        description=(
            "Admins only. `from` / `to`: a day (whole, UTC) or an ISO datetime (`to` excluded). `to` not after "
            "`from`, or more than 366 days → 422 on query.to; an unknown source → 404."
        ),
    ),
    # --- scoring -----------------------------------------------------------------------------
    ("GET", "/scoring/model"): Contract(
        "The configured scorer and the trained model in use",
        "scoring",
        ok(ScoringStatus),
        description="Version, training time, outcomes and holdout metrics of the current model (null before one).",
    ),
    # --- exports -------------------------------------------------------------------------------
    ("POST", "/exports"): Contract(
        "Export appeals, leads or deals created in a date range as CSV",
        "insight",
        created(ExportOut),
        body=ExportRequest,
        description=(
            "Written page by page (never the whole set in memory) to S3 with a presigned link valid for an hour, "
            "or locally to a file under .local/exports. A range over 366 days or not after `from` → 422 on body.to."
        ),
    ),
    # --- outgoing webhooks (admins only) ---------------------------------------------------
    ("POST", "/webhooks"): Contract(
        "Subscribe a URL to events (signed deliveries)",
        "webhooks",
        created(WebhookCreated, "The subscription and its signing secret, shown this once"),
        body=WebhookCreate,
        description="422 at body.url for a non-https URL or a loopback, private or link-local host (docs/webhooks.md).",
    ),
    ("GET", "/webhooks"): Contract("List webhooks, newest first", "webhooks", ok(Page[WebhookOut]), query=PageQuery),
    ("GET", "/webhooks/{webhook_id}"): Contract("Read a webhook", "webhooks", ok(WebhookOut), errors=MISSING),
    ("DELETE", "/webhooks/{webhook_id}"): Contract(
        "Delete a webhook", "webhooks", {204: Reply(None, "Deleted")}, errors=MISSING
    ),
    ("POST", "/webhooks/{webhook_id}/test"): Contract(
        "Deliver a webhook.test event now",
        "webhooks",
        ok(DeliveryOut, "The test delivery after its first attempt"),
        errors=MISSING | BUSY,
    ),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Contract(
        "A webhook's deliveries and their attempts, newest first",
        "webhooks",
        ok(Page[DeliveryOut]),
        query=PageQuery,
        errors=MISSING,
    ),
    # --- admin -------------------------------------------------------------------------------
    ("POST", "/admin/jobs/{name}/run"): Contract(
        "Run a scheduled job now",
        "admin",
        ok(JOB_REPORTS, "The job's report (its shape depends on the job)"),
        errors=MISSING | BUSY,
        path_schemas={"name": {"type": "string", "enum": list(get_args(JobName))}},
    ),
}
