"""Fixture chain: fake credentials → mock_aws → tables → Chalice test client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.models import create_tables
from scripts.local.dev_auth import DevKeys
from tests.support import Api

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    """The tests' own key pair: the app verifies its tokens exactly as it would Cognito's."""
    return DevKeys.load_or_create(tmp_path_factory.mktemp("auth"))


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, dev_keys: DevKeys) -> None:
    for name, value in {
        **dev_keys.environment(),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_PREFIX": "leadcrm-dev",
    }.items():
        monkeypatch.setenv(name, value)
    # A developer's shell may point at DynamoDB Local; unit tests never do.
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def tables(aws: None) -> None:
    create_tables()


@pytest.fixture
def api(tables: None, dev_keys: DevKeys) -> Iterator[Api]:
    with Client(app, stage_name="dev") as client:
        yield Api(client, token=dev_keys.token("admin"))
