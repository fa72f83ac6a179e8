"""The llm scorer: Bedrock Converse on a stubbed real client, and every way it fails.

The client is a real boto3 `bedrock-runtime` client with botocore's Stubber,
so requests are checked against the service model and nothing leaves the
machine. Timeouts cannot be stubbed, so those use a fake client with the same
`converse` method.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from chalicelib.scoring.base import Factor, LeadFeatures, Score
from chalicelib.scoring.llm import MAX_TOKENS, SYSTEM_PROMPT, LlmScorer, bedrock_client

if TYPE_CHECKING:
    from collections.abc import Iterator

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
# Sentinels: if either shows up where it must not, the test says where.
REPLY_SENTINEL = "REPLY-SENTINEL-7f3a"
DOMAIN_SENTINEL = "domain-sentinel-91c2"
LOGGER = "leadcrm"  # chalicelib.core.observability's logger


class FakeFallback:
    """Answers like a scorer and remembers what it was asked."""

    name = "rules"

    def __init__(self, fallback_reason: str | None = None) -> None:
        self.asked: list[LeadFeatures] = []
        self.fallback_reason = fallback_reason

    def score(self, features: LeadFeatures) -> Score:
        self.asked.append(features)
        return Score(
            score=0.4,
            recommendation="continue_qualification",
            reason="fallback answered",
            factors=[Factor(feature="prior", contribution=-0.4)],
            model_version="fake-v1",
            fallback_reason=self.fallback_reason,
        )


class RaisingClient:
    """A `converse` that fails before any reply, as a network timeout does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        raise self.error


def features(**overrides: Any) -> LeadFeatures:
    values: dict[str, Any] = {
        "source_id": "src-telegram",
        "source_points": 0.1,
        "stage": "contacted",
        "message_count": 4,
        "appeals_count": 2,
        "business_domain": DOMAIN_SENTINEL,
        "days_since_created": 3.14159,
    }
    return LeadFeatures(**(values | overrides))


def converse_response(text: str | None, stop_reason: str = "end_turn") -> dict[str, Any]:
    content = [] if text is None else [{"text": text}]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 200, "outputTokens": 60, "totalTokens": 260},
        "metrics": {"latencyMs": 420},
    }


def reply(**overrides: Any) -> str:
    body: dict[str, Any] = {
        "score": 0.8123456,
        "reason": f"engaged returning lead {REPLY_SENTINEL}",
        "factors": [
            {"feature": "message_count", "contribution": 0.9},
            {"feature": "days_since_created", "contribution": -0.2},
            {"feature": "appeals_count", "contribution": 0.5},
        ],
    }
    return json.dumps(body | overrides)


@pytest.fixture
def client(aws_credentials: None) -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def fallback() -> FakeFallback:
    return FakeFallback()


@pytest.fixture
def scorer(client: Any, fallback: FakeFallback) -> LlmScorer:
    return LlmScorer(client, MODEL_ID, fallback=fallback)


@pytest.fixture
def sent(client: Any) -> list[dict[str, Any]]:
    """The parameters of every converse call, as the client received them."""
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-parameter-build.bedrock-runtime.Converse", lambda params, **_: calls.append(params)
    )
    return calls


def assert_nothing_leaked(caplog: pytest.LogCaptureFixture, answer: Score) -> None:
    leaks = (REPLY_SENTINEL, DOMAIN_SENTINEL, SYSTEM_PROMPT[:40])
    for record in caplog.records:
        assert not any(leak in record.getMessage() for leak in leaks), record.getMessage()
    assert answer.fallback_reason is not None
    assert not any(leak in answer.fallback_reason for leak in leaks)


# --- a good reply -----------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "domain", "recommendation"),
    [
        (0.8123456, DOMAIN_SENTINEL, "transfer_to_sales"),
        # High, but nobody knows what the lead does yet: ask before handing over.
        (0.8123456, None, "continue_qualification"),
        (0.1, DOMAIN_SENTINEL, "drop_lead"),
    ],
)
def test_GIVEN_a_valid_reply_WHEN_scored_THEN_the_score_is_the_models_and_the_advice_is_recommends(
    scorer: LlmScorer,
    stubber: Stubber,
    fallback: FakeFallback,
    score: float,
    domain: str | None,
    recommendation: str,
) -> None:
    stubber.add_response("converse", converse_response(reply(score=score)))

    answer = scorer.score(features(business_domain=domain))

    assert answer.score == round(score, 4)
    assert answer.recommendation == recommendation
    assert answer.model_version == f"llm:{MODEL_ID}"
    assert answer.fallback_reason is None
    # The prior is what the score's log-odds leave after the model's pushes.
    prior = math.log(answer.score / (1 - answer.score)) - (0.9 + 0.5 - 0.2)
    assert [(f.feature, f.contribution) for f in answer.factors] == [
        ("prior", round(prior, 4)),
        ("message_count", 0.9),
        ("appeals_count", 0.5),
        ("days_since_created", -0.2),
    ]
    assert answer.reason.startswith(f"score {answer.score:.2f} ")
    assert answer.reason.endswith(f"; engaged returning lead {REPLY_SENTINEL}")
    assert fallback.asked == []


def test_GIVEN_a_lead_WHEN_scored_THEN_the_request_carries_only_its_features(
    scorer: LlmScorer, stubber: Stubber, sent: list[dict[str, Any]]
) -> None:
    stubber.add_response(
        "converse",
        converse_response(reply()),
        expected_params={
            "modelId": MODEL_ID,
            "system": [{"text": SYSTEM_PROMPT}],
            "messages": ANY,
            "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0},
        },
    )
    # What the CRM knows about a lead, of which only the features may travel.
    lead = {
        "name": "Ivan Petrov",
        "phone": "+79990001122",
        "email": "ivan@example.com",
        "text": "call me tonight",
        "source_id": "src-telegram",
        "source_points": 0.1,
        "stage": "contacted",
        "message_count": 4,
        "appeals_count": 2,
        "business_domain": DOMAIN_SENTINEL,
        "days_since_created": 3.14159,
    }

    scorer.score(LeadFeatures(**{k: v for k, v in lead.items() if k in LeadFeatures.model_fields}))

    [params] = sent
    [message] = params["messages"]
    assert message["role"] == "user"
    [block] = message["content"]
    assert json.loads(block["text"]) == {
        "source_id": "src-telegram",
        "source_points": 0.1,
        "stage": "contacted",
        "message_count": 4,
        "appeals_count": 2,
        "business_domain": DOMAIN_SENTINEL,
        "days_since_created": 3.14,
    }
    request = json.dumps(params)
    for personal in (lead["name"], lead["phone"], lead["email"], lead["text"], "phone", "email", "e-mail"):
        assert personal not in request


def test_GIVEN_two_different_leads_WHEN_scored_THEN_only_the_user_message_differs(
    scorer: LlmScorer, stubber: Stubber, sent: list[dict[str, Any]]
) -> None:
    stubber.add_response("converse", converse_response(reply()))
    stubber.add_response("converse", converse_response(reply()))

    scorer.score(features())
    scorer.score(features(stage="new", business_domain=None))

    first, second = ({k: v for k, v in params.items() if k != "messages"} for params in sent)
    assert first == second
    assert sent[0]["messages"] != sent[1]["messages"]


def test_GIVEN_a_very_long_business_domain_WHEN_scored_THEN_the_prompt_keeps_only_its_start(
    scorer: LlmScorer, stubber: Stubber, sent: list[dict[str, Any]]
) -> None:
    stubber.add_response("converse", converse_response(reply()))

    scorer.score(features(business_domain="x" * 10_000))

    prompt = json.loads(sent[0]["messages"][0]["content"][0]["text"])
    assert prompt["business_domain"] == "x" * 120


def test_GIVEN_a_reply_in_a_json_fence_WHEN_scored_THEN_it_is_accepted(scorer: LlmScorer, stubber: Stubber) -> None:
    stubber.add_response("converse", converse_response(f"```json\n{reply(score=0.5)}\n```"))

    answer = scorer.score(features())

    assert answer.fallback_reason is None
    assert answer.score == 0.5


# --- every way it fails -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stop_reason", "why"),
    [
        (f"not json {REPLY_SENTINEL}", "end_turn", "invalid JSON"),
        # Only a fence is tolerated, never prose around the JSON.
        (f"Sure! {REPLY_SENTINEL}\n```json\n{reply()}\n```", "end_turn", "invalid JSON"),
        (reply().replace("0.8123456", "NaN"), "end_turn", "invalid JSON"),
        ('{"score": 0.5, "score": 0.9, "reason": "r", "factors": []}', "end_turn", "invalid JSON"),
        ("[0.5]", "end_turn", "invalid reply (model_type)"),
        (reply(score=1.5), "end_turn", "invalid reply (less_than_equal)"),
        (reply(score=-0.1), "end_turn", "invalid reply (greater_than_equal)"),
        (reply(score="0.9"), "end_turn", "invalid reply (float_type)"),
        (reply(score=True), "end_turn", "invalid reply (float_type)"),
        (reply(recommendation="transfer_to_sales"), "end_turn", "invalid reply (extra_forbidden)"),
        (reply(reason="x" * 301), "end_turn", "invalid reply (string_too_long)"),
        (reply(reason="   "), "end_turn", "invalid reply (string_too_short)"),
        (reply(factors=[{"feature": "phone", "contribution": 1}]), "end_turn", "invalid reply (literal_error)"),
        (
            reply(factors=[{"feature": "stage", "contribution": 1}, {"feature": "stage", "contribution": 2}]),
            "end_turn",
            "invalid reply (duplicate_feature)",
        ),
        (
            reply(factors=[{"feature": "stage", "contribution": 0.1}] * 6),
            "end_turn",
            "invalid reply (too_long)",
        ),
        (reply(factors=[{"feature": "stage", "contribution": 99}]), "end_turn", "invalid reply (less_than_equal)"),
        (reply(), "max_tokens", "stop reason max_tokens"),
        (reply(), "guardrail_intervened", "stop reason guardrail_intervened"),
        (None, "end_turn", "empty reply"),
        ("   ", "end_turn", "empty reply"),
    ],
)
def test_GIVEN_a_reply_that_cannot_be_trusted_WHEN_scored_THEN_fallback_answers_and_says_why(
    scorer: LlmScorer,
    stubber: Stubber,
    fallback: FakeFallback,
    caplog: pytest.LogCaptureFixture,
    text: str | None,
    stop_reason: str,
    why: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    stubber.add_response("converse", converse_response(text, stop_reason))

    answer = scorer.score(features())

    assert answer.fallback_reason == f"llm failed: {why}"
    assert answer.model_version == "fake-v1"
    assert fallback.asked == [features()]
    [warning] = [r for r in caplog.records if r.name == LOGGER]
    assert warning.levelno == logging.WARNING
    assert why in warning.getMessage()
    assert_nothing_leaked(caplog, answer)


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException", "ValidationException"])
def test_GIVEN_bedrock_refuses_WHEN_scored_THEN_fallback_answers_and_says_why(
    scorer: LlmScorer, stubber: Stubber, fallback: FakeFallback, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    stubber.add_client_error("converse", service_error_code=code, service_message="nope", http_status_code=400)

    answer = scorer.score(features())

    assert answer.fallback_reason == f"llm failed: {code}"
    assert fallback.asked == [features()]
    assert_nothing_leaked(caplog, answer)


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (ReadTimeoutError(endpoint_url="x"), "timeout"),
        (ConnectTimeoutError(endpoint_url="x"), "timeout"),
        (EndpointConnectionError(endpoint_url="x"), "unreachable"),
        (RuntimeError("boom"), "RuntimeError"),
    ],
)
def test_GIVEN_bedrock_does_not_answer_WHEN_scored_THEN_fallback_answers_and_says_why(
    fallback: FakeFallback, caplog: pytest.LogCaptureFixture, error: Exception, why: str
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    scorer = LlmScorer(RaisingClient(error), MODEL_ID, fallback=fallback)

    answer = scorer.score(features())

    assert answer.fallback_reason == f"llm failed: {why}"
    assert fallback.asked == [features()]
    assert_nothing_leaked(caplog, answer)


def test_GIVEN_a_fallback_that_itself_fell_back_WHEN_llm_fails_THEN_both_reasons_are_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback = FakeFallback(fallback_reason="no trained model yet")
    scorer = LlmScorer(RaisingClient(ReadTimeoutError(endpoint_url="x")), MODEL_ID, fallback=fallback)

    answer = scorer.score(features())

    assert answer.fallback_reason == "llm failed: timeout; no trained model yet"


# --- the client -------------------------------------------------------------


@pytest.fixture
def fresh_client_cache() -> Iterator[None]:
    bedrock_client.cache_clear()
    yield
    bedrock_client.cache_clear()


def test_GIVEN_the_same_settings_WHEN_a_client_is_asked_twice_THEN_it_is_built_once(
    aws_credentials: None, fresh_client_cache: None
) -> None:
    first = bedrock_client("us-east-1", 5.0)

    assert bedrock_client("us-east-1", 5.0) is first
    assert bedrock_client("eu-central-1", 5.0) is not first
    config = first.meta.config  # type: ignore[attr-defined]
    assert (config.read_timeout, config.connect_timeout) == (5.0, 2)
    # One attempt, no retry: the fallback answers instead.
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert first.meta.region_name == "us-east-1"  # type: ignore[attr-defined]


def test_GIVEN_a_short_timeout_WHEN_a_client_is_built_THEN_connecting_may_not_take_longer(
    aws_credentials: None, fresh_client_cache: None
) -> None:
    config = bedrock_client("us-east-1", 0.5).meta.config  # type: ignore[attr-defined]

    assert (config.read_timeout, config.connect_timeout) == (0.5, 0.5)


def test_GIVEN_a_cold_start_WHEN_the_llm_module_is_imported_THEN_boto3_is_not() -> None:
    check = "import sys, chalicelib.scoring.llm; sys.exit('boto3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], cwd=Path(__file__).parents[2], check=False)

    assert done.returncode == 0
