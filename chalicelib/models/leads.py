"""The leads table: leads, their deals and the scoring models (rows sharing
the table), the words stored in them (stages, event types, recommendations)
and every query on them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.db.rows import get_row, newest_first
from chalicelib.db.tables import LISTED, TableMeta, TableName, Word

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "CONTACTED",
    "CURRENT_MODEL_KEY",
    "DEALS_LISTED",
    "DEAL_PREFIX",
    "DEAL_STAGES",
    "LEAD_PREFIX",
    "LOST",
    "NEW",
    "QUALIFIED",
    "RESCORE_DUE",
    "TRANSFERRED",
    "Deal",
    "DealEventType",
    "DealStage",
    "Lead",
    "LeadContacts",
    "LeadEventType",
    "LeadNote",
    "LeadStage",
    "Recommendation",
    "ScoreTrigger",
    "ScoringModel",
    "contacts_key",
    "current_scoring_model",
    "deal_id_for",
    "deal_key",
    "deals_created_between",
    "deals_newest_first",
    "due_lead_ids",
    "get_deal_row",
    "get_lead_row",
    "last_operator_of",
    "lead_contacts",
    "lead_ids_in_stage",
    "lead_notes",
    "lead_notes_numbered",
    "lead_outcomes",
    "lead_score",
    "lead_sources",
    "lead_stages",
    "lead_standing",
    "leads_created_between",
    "leads_in_stage",
    "leads_newest_first",
    "model_key",
    "note_key",
]


class LeadStage(Word):
    """The lead funnel (its moves are ruled in `chalicelib.funnel.stages`)."""

    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    TRANSFERRED = "transferred"
    LOST = "lost"


NEW, CONTACTED, QUALIFIED, TRANSFERRED, LOST = LeadStage


class DealStage(Word):
    """Sales pipeline of a transferred lead; `paid` is final."""

    NEW = "new"
    KYC = "kyc"
    AGREEMENT = "agreement"
    PAID = "paid"


DEAL_STAGES = tuple(DealStage)


class LeadEventType(Word):
    STAGE_CHANGED = "stage_changed"
    SCORED = "scored"
    TRANSFERRED = "transferred"


class DealEventType(Word):
    CREATED = "created"
    STAGE_CHANGED = "stage_changed"


class Recommendation(Word):
    """What a score advises (never does)."""

    TRANSFER_TO_SALES = "transfer_to_sales"
    CONTINUE_QUALIFICATION = "continue_qualification"
    DROP_LEAD = "drop_lead"


class ScoreTrigger(Word):
    """What asked for a score: a person (`analyze`) or the rescoring job."""

    ANALYZE = "analyze"
    SCHEDULE = "schedule"


# The one partition of the sparse `needs_scoring` index. A lead enters it
# once when its inputs first change and leaves when scored, so it takes about
# two index writes per lead per rescoring period, far below one partition's limit.
RESCORE_DUE = "due"
# `listed` partitions of the newest-first index this table's rows share.
DEALS_LISTED = "deals"
# Every lead id starts so (`ids.lead_id_for`), every deal id so (`deal_id_for`).
LEAD_PREFIX, DEAL_PREFIX = "ld_", "dl_"
# Key of the pointer to the scoring model in use; versions are `model#000001`...
CURRENT_MODEL_KEY = "model#current"


class LeadsNewestFirst(GlobalSecondaryIndex["Lead"]):
    class Meta:
        index_name = "newest_first"
        # Keys only: rows change on every appeal, an index copy would too.
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class LeadsByStage(GlobalSecondaryIndex["Lead"]):
    """A stage's leads, latest stage change first: `GET /leads?stage=` and the
    trainer's outcomes (`transferred`, `lost`). Keys only, so an appeal (which
    changes counters, not the stage) never rewrites it."""

    class Meta:
        index_name = "by_stage"
        projection = KeysOnlyProjection()

    stage = UnicodeAttribute(hash_key=True)
    stage_changed_at = UnicodeAttribute(range_key=True)


class LeadsNeedingScore(GlobalSecondaryIndex["Lead"]):
    """Sparse: only leads whose scoring inputs changed since their last score
    carry `rescore_due`, so the rescoring job costs O(changed leads)."""

    class Meta:
        index_name = "needs_scoring"
        projection = KeysOnlyProjection()

    rescore_due = UnicodeAttribute(hash_key=True)
    # When the inputs first changed (kept while they keep changing): oldest first.
    rescore_since = UnicodeAttribute(range_key=True)


class FactorAttribute(MapAttribute[str, Any]):
    feature = UnicodeAttribute()
    contribution = NumberAttribute()

    def __init__(self, **attributes: Any) -> None:  # typed: PynamoDB's is not
        super().__init__(**attributes)  # type: ignore[no-untyped-call]


class Lead(Model):
    """A person. `lead_id` is derived from `external_id`, so get-or-create is
    one upsert and two racing first appeals cannot make two leads."""

    class Meta(TableMeta):
        table_name = TableName("leads")
        # Both images on the stream: chalicelib/events reads what changed.
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    lead_id = UnicodeAttribute(hash_key=True)
    external_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    # The channel handle (Telegram `username`) and language, as the lead's latest message said.
    username = UnicodeAttribute(null=True)
    language_code = UnicodeAttribute(null=True)
    business_domain = UnicodeAttribute(null=True)
    # The source of the lead's first appeal (where it was acquired).
    source_id = UnicodeAttribute(null=True)
    # Every source that sent one of its appeals (bounded by the sources table):
    # whose contact records and memberships there are to read.
    source_ids = UnicodeSetAttribute(null=True)
    appeals_count = NumberAttribute(default=0)
    message_count = NumberAttribute(default=0)
    # Rows written before the funnel existed have no stage: they read as `new`.
    stage = UnicodeAttribute(null=True)
    stage_changed_at = UnicodeAttribute(null=True)
    deal_id = UnicodeAttribute(null=True)
    # Who was last handed one of this lead's appeals (any source): sticky
    # routing offers the next appeal to them first. Set by the same
    # transaction that assigns.
    last_operator_id = UnicodeAttribute(null=True)
    # Advice only: written by scorers, never read by a stage change except the
    # transfer gate.
    ai_score = NumberAttribute(null=True)
    ai_recommendation = UnicodeAttribute(null=True)
    ai_reason = UnicodeAttribute(null=True)
    ai_factors = ListAttribute(of=FactorAttribute, null=True)
    scored_at = UnicodeAttribute(null=True)
    model_version = UnicodeAttribute(null=True)
    score_fallback_reason = UnicodeAttribute(null=True)
    # How many notes the lead has: the next note's sequence number (`LeadNote`).
    notes_count = NumberAttribute(null=True)
    # Bumped by every change to a scoring input; a score is written only if
    # it is still the version that was read, so a score never describes
    # inputs older than the ones it claims.
    inputs_version = NumberAttribute(default=0)
    scored_inputs_version = NumberAttribute(null=True)
    rescore_due = UnicodeAttribute(null=True)
    rescore_since = UnicodeAttribute(null=True)
    # JSON events (stage changes, scores, transfer), appended in the write
    # that makes the change.
    events = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # JSON strings
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()

    newest_first = LeadsNewestFirst()
    by_stage = LeadsByStage()
    needs_scoring = LeadsNeedingScore()


class DealsNewestFirst(GlobalSecondaryIndex["Deal"]):
    class Meta:
        index_name = "newest_first"
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Deal(Model):
    """A transferred lead in the sales pipeline, kept in the leads table.

    Its key is `deal#<deal_id>`; the id derives from the lead's, so a lead has
    at most one deal and a retried transfer cannot make a second. Its stage
    is `deal_stage`, not `stage`, so the leads' `by_stage` index never sees it.
    """

    class Meta(TableMeta):
        table_name = TableName("leads")

    key = UnicodeAttribute(hash_key=True, attr_name="lead_id")
    deal_id = UnicodeAttribute()
    deal_lead_id = UnicodeAttribute()
    deal_stage = UnicodeAttribute()
    business_domain = UnicodeAttribute(null=True)
    ai_score_at_transfer = NumberAttribute(null=True)
    events = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # JSON strings
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    listed = UnicodeAttribute()

    newest_first = DealsNewestFirst()


class ScoringModel(Model):
    """A trained scoring model, kept in the leads table: `model#000001`,
    `model#000002`... and a copy of the one in use at `model#current`, so
    scoring reads one item. `body` is the trainer's JSON."""

    class Meta(TableMeta):
        table_name = TableName("leads")

    key = UnicodeAttribute(hash_key=True, attr_name="lead_id")
    version = NumberAttribute()
    body = UnicodeAttribute()
    trained_at = UnicodeAttribute()
    positives = NumberAttribute()
    negatives = NumberAttribute()
    # Held-out quality at training time, so a reader can judge the model.
    holdout_auc = NumberAttribute(null=True)
    holdout_brier = NumberAttribute(null=True)


class LeadContacts(Model):
    """What one source collected about a lead (name, phone, e-mail), kept in the leads table.

    Its key is `contacts#<lead_id>#<source_id>`, written by that source's
    intakes only (its write rate is bounded by the lead). The lead's own
    fields are filled from the first source that had them and never
    overwritten by another; an operator reads a lead's contacts only through
    these records of the sources its own appeals came from. No index sees it.
    """

    class Meta(TableMeta):
        table_name = TableName("leads")

    key = UnicodeAttribute(hash_key=True, attr_name="lead_id")
    contact_source_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    language_code = UnicodeAttribute(null=True)
    # Where this source's bot reaches the lead (a Telegram chat id): replies go there.
    chat_id = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class LeadNote(Model):
    """A note a person wrote about a lead, kept in the leads table.

    Its key is `note#<lead_id>#<seq, zero-padded>`, the sequence taken from the
    lead's `notes_count` in the same transaction (the put is conditional on the
    key being free), so a page of notes is one BatchGetItem of known keys. The
    text is personal data: never logged. No index sees it.
    """

    class Meta(TableMeta):
        table_name = TableName("leads")

    key = UnicodeAttribute(hash_key=True, attr_name="lead_id")
    note_lead_id = UnicodeAttribute()
    seq = NumberAttribute()
    text = UnicodeAttribute()
    author = UnicodeAttribute()  # an operator id, or the admin's subject
    author_role = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # Written through POST /appeals/{id}/notes: the appeal it is about.
    appeal_id = UnicodeAttribute(null=True)


def note_key(lead_id: str, seq: int) -> str:
    return f"note#{lead_id}#{seq:06d}"


def lead_notes(lead_id: str, first: int, last: int) -> list[LeadNote]:
    """Notes `first..last` (inclusive), newest first: one BatchGetItem of known keys."""
    if last < first:
        return []
    found = LeadNote.batch_get([note_key(lead_id, seq) for seq in range(first, last + 1)], consistent_read=True)
    return sorted(found, key=lambda note: -int(note.seq))


def lead_notes_numbered(lead_id: str, numbers: list[int]) -> list[LeadNote]:
    """The lead's notes with these numbers, newest first: one BatchGetItem of known keys."""
    if not numbers:
        return []
    found = LeadNote.batch_get([note_key(lead_id, seq) for seq in numbers], consistent_read=True)
    return sorted(found, key=lambda note: -int(note.seq))


def contacts_key(lead_id: str, source_id: str) -> str:
    return f"contacts#{lead_id}#{source_id}"


def deal_id_for(lead_id: str) -> str:
    # Derived, so a lead has at most one deal and a retried transfer cannot make two.
    return f"{DEAL_PREFIX}{lead_id.removeprefix(LEAD_PREFIX)}"


def deal_key(deal_id: str) -> str:
    return f"deal#{deal_id}"


def model_key(version: int) -> str:
    return f"model#{version:06d}"


# --- queries ---------------------------------------------------------------


def get_lead_row(lead_id: str, *, consistent: bool = False) -> Lead:
    return get_row(Lead, lead_id, "lead", consistent=consistent, prefix=LEAD_PREFIX)


def leads_newest_first(limit: int, cursor: str | None) -> tuple[list[Lead], str | None]:
    return newest_first(Lead, Lead.newest_first, LISTED, limit, cursor)


def leads_in_stage(stage: LeadStage, limit: int, cursor: str | None) -> tuple[list[Lead], str | None]:
    """A stage's leads, latest stage change first."""
    return newest_first(Lead, Lead.by_stage, stage, limit, cursor)


def lead_sources(lead_id: str) -> list[str]:
    """The sources that sent the lead's appeals; reads two small attributes (NotFound when no such lead)."""
    row = get_row(Lead, lead_id, "lead", prefix=LEAD_PREFIX, attributes=["lead_id", "source_id", "source_ids"])
    sources = set(row.source_ids or ())
    if row.source_id:
        sources.add(row.source_id)
    return sorted(sources)


def lead_contacts(lead_id: str, source_ids: list[str]) -> list[LeadContacts]:
    """What each of these sources collected about the lead (one BatchGetItem), in the given order."""
    if not source_ids:
        return []
    found = {
        row.contact_source_id: row for row in LeadContacts.batch_get([contacts_key(lead_id, s) for s in source_ids])
    }
    return [found[source_id] for source_id in source_ids if source_id in found]


def last_operator_of(lead_id: str) -> str | None:
    """Who was last handed one of the lead's appeals (sticky routing); reads that one attribute."""
    try:
        return Lead.get(lead_id, consistent_read=True, attributes_to_get=["last_operator_id"]).last_operator_id
    except DoesNotExist:
        return None


def lead_score(lead_id: str) -> float | None:
    """A returning lead's current score (score-aware routing); None for a new or unscored lead."""
    try:
        score = Lead.get(lead_id, attributes_to_get=["ai_score"]).ai_score
    except DoesNotExist:
        return None
    return None if score is None else float(score)


def lead_standing(lead_id: str) -> tuple[float | None, int]:
    """A lead's score (None: new or unscored) and how many appeals it already has (0: new),
    in one GetItem of two attributes: what a priority line needs to place a new appeal."""
    try:
        row = Lead.get(lead_id, attributes_to_get=["ai_score", "appeals_count"])
    except DoesNotExist:
        return None, 0
    return (None if row.ai_score is None else float(row.ai_score)), int(row.appeals_count or 0)


def lead_stages(lead_ids: list[str]) -> dict[str, str]:
    """lead id → stage (`new` for rows from before the funnel): BatchGetItem of two attributes, 100 keys a request."""
    return {lead_id: stage for lead_id, (stage, _) in lead_outcomes(lead_ids, with_deals=False).items()}


def lead_outcomes(lead_ids: list[str], *, with_deals: bool = True) -> dict[str, tuple[str, bool]]:
    """lead id → (stage, whether its deal is `paid`): BatchGetItem per 100 leads, then
    per 100 of their deals (transferred leads only have one)."""
    unique = sorted(set(lead_ids))
    if not unique:
        return {}
    rows = list(Lead.batch_get(unique, attributes_to_get=["lead_id", "stage", "deal_id"]))
    deals = {deal_key(row.deal_id): row.lead_id for row in rows if with_deals and row.deal_id}
    paid = {
        deals[deal.key]
        for deal in (Deal.batch_get(list(deals), attributes_to_get=["lead_id", "deal_stage"]) if deals else ())
        if deal.deal_stage == DealStage.PAID
    }
    return {row.lead_id: (str(row.stage or LeadStage.NEW), row.lead_id in paid) for row in rows}


def lead_ids_in_stage(stage: LeadStage) -> Iterator[str]:
    """Every lead that reached `stage`, from the keys-only stage index."""
    for key in Lead.by_stage.query(stage, page_size=1000):
        yield key.lead_id


def due_lead_ids(limit: int) -> list[str]:
    """Up to `limit` ids of leads whose scoring inputs changed, oldest change first."""
    return [key.lead_id for key in Lead.needs_scoring.query(RESCORE_DUE, limit=limit, page_size=min(limit, 1000))]


def get_deal_row(deal_id: str, *, consistent: bool = False) -> Deal:
    return get_row(Deal, deal_id, "deal", consistent=consistent, prefix=DEAL_PREFIX, key=deal_key(deal_id))


def deals_newest_first(limit: int, cursor: str | None) -> tuple[list[Deal], str | None]:
    return newest_first(Deal, Deal.newest_first, DEALS_LISTED, limit, cursor)


def current_scoring_model(*, consistent: bool = False) -> ScoringModel | None:
    """The scoring model in use (one GetItem), or None until one is trained."""
    try:
        return ScoringModel.get(CURRENT_MODEL_KEY, consistent_read=consistent)
    except DoesNotExist:
        return None


_BATCH = 100  # BatchGetItem's limit


def _created_between(model: Any, partition: str, start: str, end: str) -> Iterator[Any]:
    """Rows of a keys-only newest-first listing created in [start, end): one Query page
    of keys, then one BatchGetItem per 100 of them; only one page is held at a time."""
    keys = model.newest_first.query(
        partition, range_key_condition=model.created_at.between(start, end), page_size=_BATCH
    )
    batch: list[str] = []
    for key in keys:
        if key.created_at >= end:  # BETWEEN is inclusive; the range's end is not
            continue
        batch.append(key.lead_id if model is Lead else key.key)
        if len(batch) == _BATCH:
            yield from sorted(model.batch_get(batch), key=lambda row: row.created_at, reverse=True)
            batch = []
    if batch:
        yield from sorted(model.batch_get(batch), key=lambda row: row.created_at, reverse=True)


def leads_created_between(start: str, end: str) -> Iterator[Lead]:
    return _created_between(Lead, LISTED, start, end)


def deals_created_between(start: str, end: str) -> Iterator[Deal]:
    return _created_between(Deal, DEALS_LISTED, start, end)
