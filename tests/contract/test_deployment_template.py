"""The deployable package: what `make package` builds and CloudFormation deploys.

The package is built once per run (module fixture, through the same
`scripts.packaging.package.build` that `make package` runs) and every test reads that
output: tables as the PynamoDB models define them, per-function least
privilege, alarms on the metrics the code really emits, and cfn-lint clean.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from datetime import timedelta
from inspect import getattr_static
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from chalice.test import Client

from app import app
from chalicelib.api.http import error_response
from chalicelib.core.config import INTAKE_QUEUE_NAME, WEBHOOK_QUEUE_NAME, table_env_var
from chalicelib.core.errors import DomainError, Forbidden, Unauthorized
from chalicelib.core.ids import iso, utc_now
from chalicelib.db.tables import LISTED
from chalicelib.events.consumer import dispatch
from chalicelib.models import ALL_MODELS, SHARED_TABLE_MODELS, Lead, MessageAlias, Operator, Source
from chalicelib.models.leads import LOST, TRANSFERRED
from chalicelib.routing.followup_job import record_lead_activity, run_followup
from chalicelib.routing.reassignment import run_reassignment
from chalicelib.schemas.events import DomainEvent
from scripts.packaging.package import ROOT, Package, build
from tests.support import Api, AppealsStream, intake_message, on_dynamodb_event, sqs_event, sqs_record

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pynamodb.models import Model

# Every Lambda function the app deploys; a new one needs its own policy file and alarm.
FUNCTIONS = (
    "APIHandler",
    "Intake",
    "Reassign",
    "Audit",
    "Rescore",
    "Train",
    "Tune",
    "Shifts",
    "Followup",
    "Authorize",
    "AppealEvents",
    "LeadEvents",
    "WebhookDeliveries",
)
LOGIN_ACTIONS = frozenset(
    {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminDeleteUser",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminEnableUser",
    }
)
# The pool the stack made, or the one it was given: every use of the pool id picks it so.
POOL_ID = {"Fn::If": ["CreatesUserPool", {"Ref": "UserPool"}, {"Ref": "CognitoUserPoolId"}]}
# What the code calls, and nothing else (no Scan; DeleteItem only releases a notification claim).
ALLOWED_ACTIONS = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "ssm:GetParameter",
        # Source bots' tokens, written by POST /sources/{id}/telegram/connect (the API function only).
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "bedrock:InvokeModel",
        # Exports only, and only under the bucket's exports/ prefix.
        "s3:PutObject",
        "s3:GetObject",
        # The API invites people and switches their logins (chalicelib.access.user_pool).
        *LOGIN_ACTIONS,
    }
)
_INDEX_ARN = re.compile(r"\$\{(?P<table>\w+)\.Arn\}/index/\*")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return build(tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def template(package: Package) -> dict[str, Any]:
    return json.loads(package.template.read_text())


# --- helpers over the template ---------------------------------------------


def entity_of(model: type[Model]) -> str:
    """The table a model lives in, by entity (`operators`, ...), as `Meta.table_name` names it."""
    return getattr_static(model.Meta, "table_name").entity


def table_resource(entity: str) -> str:
    return f"{entity.capitalize()}Table"


def functions(template: dict[str, Any]) -> list[str]:
    return [name for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]


def environment(template: dict[str, Any], function: str) -> dict[str, Any]:
    """What the function runs with: SAM merges Globals into it, the function's own values win."""
    shared = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    return {**shared, **own}


def statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """A function's statements; a conditional one (`Fn::If`) counts as granted."""
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement["Fn::If"][1] if "Fn::If" in statement else statement
        for policy in template["Resources"][role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def raw_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        s
        for policy in template["Resources"][role]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def target(resource: Any) -> tuple[str, str] | None:
    """(logical id, "table" | "index" | "arn") a policy resource names, None if not a stack resource."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical, attribute = resource["Fn::GetAtt"]
        return (logical, "table" if attribute == "Arn" else attribute)
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
        match = _INDEX_ARN.fullmatch(resource["Fn::Sub"])
        return (match["table"], "index") if match else None
    return None


def allows(template: dict[str, Any], function: str, action: str, table: str, index: str | None) -> bool:
    wanted = (table_resource(table), "index" if index else "table")
    return any(
        action in as_list(statement["Action"]) and wanted in {target(r) for r in as_list(statement["Resource"])}
        for statement in statements(template, function)
        if statement["Effect"] == "Allow"
    )


# --- helpers over the models -----------------------------------------------


def _index(keys: list[dict[str, str]], projection: dict[str, Any]) -> dict[str, Any]:
    return {
        "keys": {key["AttributeName"]: key["KeyType"] for key in keys},
        "projection": projection["ProjectionType"],
        "included": sorted(projection.get("NonKeyAttributes", [])),
    }


def tables_from_models() -> dict[str, dict[str, Any]]:
    """Each table as the models define it: the owning model first, then the
    models sharing its table, which must agree on keys and on any index they share."""
    tables: dict[str, dict[str, Any]] = {}
    for model in ALL_MODELS + SHARED_TABLE_MODELS:
        schema = model._get_schema()
        entity = entity_of(model)
        keys = {key["AttributeName"]: key["KeyType"] for key in schema["key_schema"]}
        table = tables.setdefault(entity, {"keys": keys, "attributes": {}, "indexes": {}, "local_indexes": {}})
        assert table["keys"] == keys, f"{model.__name__} disagrees on the keys of the {entity} table"
        for attribute in schema["attribute_definitions"]:
            table["attributes"][attribute["AttributeName"]] = attribute["AttributeType"]
        for kind, indexes in (("indexes", "global_secondary_indexes"), ("local_indexes", "local_secondary_indexes")):
            for index in schema[indexes]:
                for attribute in index["attribute_definitions"]:
                    table["attributes"][attribute["AttributeName"]] = attribute["AttributeType"]
                described = _index(index["key_schema"], index["projection"])
                name = index["index_name"]
                assert table[kind].setdefault(name, described) == described, f"{model.__name__}.{name} differs"
    return tables


def table_in_template(resource: dict[str, Any]) -> dict[str, Any]:
    props = resource["Properties"]
    return {
        "keys": {key["AttributeName"]: key["KeyType"] for key in props["KeySchema"]},
        "attributes": {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]},
        "indexes": {
            i["IndexName"]: _index(i["KeySchema"], i["Projection"]) for i in props.get("GlobalSecondaryIndexes", [])
        },
        "local_indexes": {
            i["IndexName"]: _index(i["KeySchema"], i["Projection"]) for i in props.get("LocalSecondaryIndexes", [])
        },
    }


# --- the package as a whole ------------------------------------------------


def test_GIVEN_the_merged_package_WHEN_linted_with_cfn_lint_THEN_no_errors(package: Package) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")

    result = subprocess.run([str(cfn_lint), str(package.template)], capture_output=True, text=True, timeout=300)

    # Exit status is a bit mask: 2 errors, 4 warnings, 8 informational; 1 means cfn-lint itself failed.
    assert result.returncode & 3 == 0, result.stdout + result.stderr


def test_GIVEN_the_merged_package_WHEN_listing_functions_THEN_each_has_an_errors_alarm_and_its_own_role(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    alarmed = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for alarm in resources.values()
        if alarm["Type"] == "AWS::CloudWatch::Alarm" and alarm["Properties"]["MetricName"] == "Errors"
    }
    roles = [resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in FUNCTIONS]

    assert sorted(functions(template)) == sorted(FUNCTIONS)
    # Every rejected token is a Lambda error of the authorizer (that is how API Gateway's 401 works),
    # so its crashes are watched through the API's 5xx instead.
    assert alarmed == set(FUNCTIONS) - {"Authorize"}
    server_errors = [
        r["Properties"] for r in resources.values() if r.get("Properties", {}).get("MetricName") == "5XXError"
    ]
    # The API is named per stage, so a staging stack's errors never raise prod's alarm.
    assert server_errors and server_errors[0]["Dimensions"] == [
        {"Name": "ApiName", "Value": resources["RestAPI"]["Properties"]["Name"]},
        {"Name": "Stage", "Value": "api"},
    ]
    for name, alarm in resources.items():
        if alarm["Type"] != "AWS::CloudWatch::Alarm" or name == "ApiRequestCountAlarm":  # a volume, not a fault
            continue
        props = alarm["Properties"]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    # One role each: a function gets its own policy file, never its neighbour's.
    assert len(set(roles)) == len(FUNCTIONS)


# --- tables ----------------------------------------------------------------


def test_GIVEN_the_models_WHEN_comparing_the_template_tables_THEN_keys_types_and_indexes_are_identical(
    template: dict[str, Any],
) -> None:
    expected = tables_from_models()
    resources = template["Resources"]
    in_template = {name for name, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}

    assert in_template == {table_resource(entity) for entity in expected}
    for entity, table in expected.items():
        resource = resources[table_resource(entity)]
        assert table_in_template(resource) == table, f"{table_resource(entity)} differs from the models"
        # CloudFormation wants the hash key first, in the table and in each index.
        for keys in [resource["Properties"]["KeySchema"]] + [
            index["KeySchema"] for index in resource["Properties"].get("GlobalSecondaryIndexes", [])
        ]:
            assert keys[0]["KeyType"] == "HASH"


def test_GIVEN_the_template_tables_WHEN_reading_their_settings_THEN_on_demand_recoverable_encrypted_and_kept(
    template: dict[str, Any],
) -> None:
    prefix = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]["environment_variables"][
        "TABLE_PREFIX"
    ]
    for model in ALL_MODELS:
        entity = entity_of(model)
        resource = template["Resources"][table_resource(entity)]
        props = resource["Properties"]

        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["DeletionProtectionEnabled"] is True
        # Deleting the stack or a replacing change never takes the data with it.
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
        # A fixed name: CloudFormation refuses a change that would replace the
        # table instead of swapping in an empty one; and it is the name the
        # stage's TABLE_PREFIX gives (with the default Stage), for tools that go by the prefix.
        assert props["TableName"] == {"Fn::Sub": f"leadcrm-${{Stage}}-{entity}"}
        stage = template["Parameters"]["Stage"]["Default"]
        assert props["TableName"]["Fn::Sub"].replace("${Stage}", stage) == f"{prefix}-{entity}"


def test_GIVEN_every_function_WHEN_reading_its_environment_THEN_tables_and_queue_come_by_reference(
    template: dict[str, Any],
) -> None:
    for function in functions(template):
        variables = environment(template, function)

        for model in ALL_MODELS:
            entity = entity_of(model)
            assert variables[table_env_var(entity)] == {"Ref": table_resource(entity)}, (function, entity)
        assert variables["INTAKE_QUEUE_URL"] == {"Ref": "IntakeQueue"}, function


def test_GIVEN_a_table_env_var_WHEN_a_model_names_its_table_THEN_the_variable_wins_over_the_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_PREFIX", "leadcrm-test")
    for model in ALL_MODELS:
        monkeypatch.delenv(table_env_var(entity_of(model)), raising=False)
    assert Operator.Meta.table_name == "leadcrm-test-operators"

    monkeypatch.setenv(table_env_var("operators"), "leadcrm-prod-OperatorsTable-1A2B3C")

    assert Operator.Meta.table_name == "leadcrm-prod-OperatorsTable-1A2B3C"
    # Read at call time: the other tables keep the prefix's names.
    assert Lead.Meta.table_name == "leadcrm-test-leads"


# --- the intake queue ------------------------------------------------------


def test_GIVEN_the_merged_package_WHEN_reading_the_sqs_event_source_THEN_batch_item_failures_are_reported(
    template: dict[str, Any],
) -> None:
    event = template["Resources"]["Intake"]["Properties"]["Events"]["IntakeSqsEventSource"]

    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_GIVEN_the_merged_package_WHEN_reading_the_queues_THEN_the_handler_reads_our_queue_with_a_dlq_after_5(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    queue = resources["IntakeQueue"]["Properties"]
    event_queue_arn = resources["Intake"]["Properties"]["Events"]["IntakeSqsEventSource"]["Properties"]["Queue"]

    # Chalice names the queue in the event source (no Ref); the template renames it to the stage's own
    # queue, and the function must depend on the queue some other way or the mapping can come first.
    assert queue["QueueName"] == {"Fn::Sub": INTAKE_QUEUE_NAME.replace("leadcrm-", "leadcrm-${Stage}-")}
    assert event_queue_arn["Fn::Sub"].endswith(f":{queue['QueueName']['Fn::Sub']}")
    assert environment(template, "Intake")["INTAKE_QUEUE_URL"] == {"Ref": "IntakeQueue"}
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert resources["IntakeDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    assert template["Outputs"]["IntakeQueueUrl"]["Value"] == {"Ref": "IntakeQueue"}


def test_GIVEN_the_merged_package_WHEN_comparing_timeouts_THEN_the_handler_finishes_before_the_message_reappears(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]

    handler_timeout = resources["Intake"]["Properties"]["Timeout"]
    visibility = resources["IntakeQueue"]["Properties"]["VisibilityTimeout"]

    # AWS's advice for SQS event sources: visibility >= 6 × function timeout.
    assert visibility >= 6 * handler_timeout


def test_GIVEN_the_webhook_queue_WHEN_reading_it_THEN_its_function_consumes_it_reporting_failures_with_a_dlq_after_5(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    queue = resources["WebhookQueue"]["Properties"]
    event = resources["WebhookDeliveries"]["Properties"]["Events"]["WebhookDeliveriesSqsEventSource"]

    staged_name = WEBHOOK_QUEUE_NAME.replace("leadcrm-", "leadcrm-${Stage}-")
    assert queue["QueueName"] == {"Fn::Sub": staged_name}
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"]["Fn::Sub"].endswith(f":{staged_name}")
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["VisibilityTimeout"] >= 6 * resources["WebhookDeliveries"]["Properties"]["Timeout"]
    # Every function that enqueues (stream consumers, the API's test ping, the retries) finds both queues.
    for function in functions(template):
        assert environment(template, function)["WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookQueue"}, function
        assert environment(template, function)["WEBHOOK_DLQ_URL"] == {"Ref": "WebhookDeadLetterQueue"}, function


def test_GIVEN_the_dlq_WHEN_reading_its_alarm_THEN_one_visible_message_raises_it(template: dict[str, Any]) -> None:
    alarms = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == "AWS/SQS"
    ]

    # The intake DLQ, the stream consumers' on-failure queue and the webhooks DLQ.
    assert len(alarms) == 3
    watched = {alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for alarm in alarms}
    assert watched == {"IntakeDeadLetterQueue", "StreamFailuresQueue", "WebhookDeadLetterQueue"}
    for alarm in alarms:
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"][0]["Name"] == "QueueName"
    (alarm,) = [a for a in alarms if a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == "IntakeDeadLetterQueue"]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    )


# --- schedules -------------------------------------------------------------


def test_GIVEN_the_merged_package_WHEN_reading_the_schedules_THEN_reassign_runs_each_minute_and_audit_each_quarter(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]

    reassign, audit = resources["Reassign"]["Properties"], resources["Audit"]["Properties"]

    followup = resources["Followup"]["Properties"]

    assert reassign["Events"]["ReassignEvent"]["Properties"]["Schedule"] == "rate(1 minute)"
    assert followup["Events"]["FollowupEvent"]["Properties"]["Schedule"] == "rate(1 minute)"
    assert audit["Events"]["AuditEvent"]["Properties"]["Schedule"] == "rate(15 minutes)"
    # A run ends before the next one starts (overlap is safe, just wasteful).
    assert reassign["Timeout"] < 60 and followup["Timeout"] < 60


def test_GIVEN_the_merged_package_WHEN_reading_the_scoring_schedules_THEN_rescore_every_5_minutes_and_train_daily(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]

    rescore, train = resources["Rescore"]["Properties"], resources["Train"]["Properties"]

    assert rescore["Events"]["RescoreEvent"]["Properties"]["Schedule"] == "rate(5 minutes)"
    assert train["Events"]["TrainEvent"]["Properties"]["Schedule"] == "rate(1 day)"
    assert rescore["Timeout"] < 5 * 60
    # The trainer gets room for numpy on 100,000 outcomes; the rest stay small.
    assert train["MemorySize"] >= 1024 and train["Timeout"] == 900


def emitted(output: str, metric: str) -> list[dict[str, Any]]:
    """The EMF blobs in `output` that carry `metric`, as CloudWatch will read them."""
    found = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"]:
                if any(m["Name"] == metric for m in definition["Metrics"]):
                    found.extend(
                        {
                            "namespace": definition["Namespace"],
                            "dimensions": {name: blob[name] for name in dimension_set},
                            "value": blob[metric],
                        }
                        for dimension_set in definition["Dimensions"]
                    )
    return found


def test_GIVEN_drift_WHEN_the_audit_function_reports_it_THEN_the_drift_alarm_watches_exactly_that_metric(
    template: dict[str, Any], api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    anna = api.operator("Anna")
    Operator(anna["id"]).update(actions=[Operator.active_load.set(2)])
    capsys.readouterr()

    with Client(app, stage_name="dev") as client:
        client.lambda_.invoke("audit", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))
    metrics = emitted(capsys.readouterr().out, "counter_drift")
    (alarm,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == "counter_drift"
    ]

    # CloudWatch matches an alarm to a metric by namespace and the exact dimension set.
    watched = {"namespace": alarm["Namespace"], "dimensions": {d["Name"]: d["Value"] for d in alarm["Dimensions"]}}
    assert [{k: m[k] for k in watched} for m in metrics] == [watched]
    value = metrics[0]["value"]
    assert (sum(value) if isinstance(value, list) else value) > alarm["Threshold"]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


# --- authentication --------------------------------------------------------


def test_GIVEN_the_cognito_parameters_WHEN_reading_the_api_and_authorizer_THEN_both_check_that_pool_and_clients(
    template: dict[str, Any],
) -> None:
    parameters = template["Parameters"]
    issuer = {"Fn::Sub": ["https://cognito-idp.${AWS::Region}.amazonaws.com/${PoolId}", {"PoolId": POOL_ID}]}
    audience = {"Fn::If": ["CreatesUserPool", {"Ref": "ConsoleAppClient"}, {"Ref": "CognitoAppClientIds"}]}

    assert parameters["CognitoUserPoolId"]["Type"] == "String"
    assert parameters["CognitoAppClientIds"]["Type"] == "String"
    for function in ("APIHandler", "Authorize"):
        variables = environment(template, function)
        assert variables["JWT_ISSUER"] == issuer
        assert variables["JWT_AUDIENCE"] == audience
    assert environment(template, "APIHandler")["USER_POOL_ID"] == POOL_ID
    # The gateway asks this function about every protected route.
    security = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]
    assert "${Authorize.Arn}" in security["authorize"]["x-amazon-apigateway-authorizer"]["authorizerUri"]["Fn::Sub"]


def test_GIVEN_no_pool_id_WHEN_deploying_THEN_the_stack_creates_the_pool_groups_pkce_client_and_hosted_ui(
    template: dict[str, Any],
) -> None:
    parameters, resources = template["Parameters"], template["Resources"]
    # Mode 1 is the default: an empty pool id creates everything.
    assert parameters["CognitoUserPoolId"]["Default"] == ""
    assert template["Conditions"]["CreatesUserPool"] == {"Fn::Equals": [{"Ref": "CognitoUserPoolId"}, ""]}
    created = {"UserPool", "AdminGroup", "OperatorGroup", "ConsoleAppClient", "ConsoleSignIn"}
    assert {name for name, r in resources.items() if r.get("Condition") == "CreatesUserPool"} == created

    pool = resources["UserPool"]
    assert pool["DeletionPolicy"] == "Retain"
    assert pool["Properties"]["UsernameAttributes"] == ["email"]
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert {"Name": "operator_id", "AttributeDataType": "String", "Mutable": True}.items() <= next(
        a for a in pool["Properties"]["Schema"] if a["Name"] == "operator_id"
    ).items()
    groups = {resources[g]["Properties"]["GroupName"] for g in ("AdminGroup", "OperatorGroup")}
    assert groups == {"admin", "operator"}
    assert all(resources[g]["Properties"]["UserPoolId"] == {"Ref": "UserPool"} for g in ("AdminGroup", "OperatorGroup"))

    client = resources["ConsoleAppClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert "openid" in client["AllowedOAuthScopes"]
    assert "custom:operator_id" not in client["WriteAttributes"]
    assert client["CallbackURLs"][0]["Fn::If"][1] == {"Ref": "ConsoleUrl"}
    assert resources["ConsoleSignIn"]["Properties"]["UserPoolId"] == {"Ref": "UserPool"}

    # The console signs in at that hosted UI with that client.
    api = environment(template, "APIHandler")
    assert api["CONSOLE_COGNITO_CLIENT_ID"]["Fn::If"][:2] == ["CreatesUserPool", {"Ref": "ConsoleAppClient"}]
    assert "${ConsoleSignIn}" in api["CONSOLE_COGNITO_DOMAIN"]["Fn::If"][1]["Fn::Sub"]


def test_GIVEN_an_existing_pool_id_WHEN_deploying_THEN_nothing_is_created_and_its_clients_are_required(
    template: dict[str, Any],
) -> None:
    parameters = template["Parameters"]
    assert re.fullmatch(parameters["CognitoUserPoolId"]["AllowedPattern"], "eu-west-1_AbC123xyZ")
    assert not re.fullmatch(parameters["CognitoUserPoolId"]["AllowedPattern"], "not a pool")
    # Mode 2 (today's): the given pool, its clients, its hosted UI.
    api = environment(template, "APIHandler")
    assert api["USER_POOL_ID"]["Fn::If"][2] == {"Ref": "CognitoUserPoolId"}
    assert api["CONSOLE_COGNITO_CLIENT_ID"]["Fn::If"][2] == {"Ref": "ConsoleCognitoClientId"}
    assert api["CONSOLE_COGNITO_DOMAIN"]["Fn::If"][2] == {"Ref": "ConsoleCognitoDomain"}
    assert environment(template, "Authorize")["JWT_AUDIENCE"]["Fn::If"][2] == {"Ref": "CognitoAppClientIds"}
    # A given pool without client ids would accept any client's token: the stack refuses to deploy.
    (rule,) = template["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CognitoUserPoolId"}, ""]}]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CognitoAppClientIds"}, ""]}]}


def test_GIVEN_the_api_role_WHEN_reading_its_login_statement_THEN_only_the_admin_calls_on_that_one_pool(
    template: dict[str, Any],
) -> None:
    (logins,) = [s for s in statements(template, "APIHandler") if as_list(s["Action"])[0].startswith("cognito-idp:")]
    pool_arn = "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${PoolId}"

    assert set(logins["Action"]) == LOGIN_ACTIONS
    assert logins["Resource"] == {"Fn::Sub": [pool_arn, {"PoolId": POOL_ID}]}
    assert not any(
        action.startswith("cognito-idp:")
        for function in FUNCTIONS
        if function != "APIHandler"
        for statement in statements(template, function)
        for action in as_list(statement["Action"])
    )


def test_GIVEN_a_stage_name_WHEN_deploying_THEN_tables_queues_api_and_pool_carry_it(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert template["Parameters"]["Stage"]["Default"] == "prod"
    named = {
        name: r["Properties"].get("TableName") or r["Properties"].get("QueueName")
        for name, r in resources.items()
        if r["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue")
    }
    for name, value in named.items():
        # The stream failures queue takes a generated name (the stack's), unique by construction.
        assert value is None or value["Fn::Sub"].startswith("leadcrm-${Stage}-"), name
    assert resources["RestAPI"]["Properties"]["Name"] == {"Fn::Sub": "leadcrm-${Stage}"}
    assert resources["UserPool"]["Properties"]["UserPoolName"] == {"Fn::Sub": "leadcrm-${Stage}"}
    for alarm in ("ApiServerErrorsAlarm", "ApiRequestCountAlarm"):
        dimensions = {d["Name"]: d["Value"] for d in resources[alarm]["Properties"]["Dimensions"]}
        assert dimensions["ApiName"] == {"Fn::Sub": "leadcrm-${Stage}"}


@pytest.mark.parametrize(
    ("response_type", "error"),
    [
        ("UNAUTHORIZED", Unauthorized("Unauthorized")),
        ("ACCESS_DENIED", Forbidden("User is not authorized to access this resource with an explicit deny")),
    ],
)
def test_GIVEN_api_gateways_own_401_and_403_WHEN_rendered_THEN_they_match_the_apps_error_shape(
    template: dict[str, Any], response_type: str, error: DomainError
) -> None:
    gateway = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"][response_type]
    ours = error_response(error)

    # API Gateway substitutes the message as a quoted JSON string.
    rendered = gateway["ResponseTemplates"]["application/json"].replace(
        "$context.error.messageString", json.dumps(error.message)
    )

    assert json.loads(rendered) == json.loads(ours.body)
    assert int(gateway["StatusCode"]) == ours.status_code
    # Header values in a gateway response are literals in single quotes.
    assert gateway["ResponseParameters"]["Headers"]["Content-Type"] == f"'{ours.headers['Content-Type']}'"


# --- least privilege -------------------------------------------------------


def test_GIVEN_every_role_WHEN_reading_its_statements_THEN_only_called_actions_on_our_own_resources(
    template: dict[str, Any],
) -> None:
    tables = {table_resource(entity_of(model)) for model in ALL_MODELS}
    for function in FUNCTIONS:
        for statement in statements(template, function):
            actions = as_list(statement["Action"])
            assert statement["Effect"] == "Allow"
            assert set(actions) <= ALLOWED_ACTIONS, (function, actions)
            services = {action.split(":")[0] for action in actions}
            assert len(services) == 1, (function, actions)
            resources = [target(r) for r in as_list(statement["Resource"])]
            if services == {"dynamodb"}:
                assert all(r is not None and r[0] in tables for r in resources), (function, statement)
            if services == {"cognito-idp"}:
                assert statement["Resource"]["Fn::Sub"][1] == {"PoolId": POOL_ID}, statement
                continue
            if services == {"sqs"}:
                assert resources in (
                    [("IntakeQueue", "table")],
                    [("StreamFailuresQueue", "table")],
                    [("WebhookQueue", "table")],
                    [("WebhookQueue", "table"), ("WebhookDeadLetterQueue", "table")],
                ), statement
            assert "*" not in as_list(statement["Resource"]), (function, statement)

    def beyond_tables(function: str) -> set[str]:
        return {
            action
            for statement in statements(template, function)
            for action in as_list(statement["Action"])
            if not action.startswith(("dynamodb:", "logs:"))
        }

    # Only the API enqueues, only the intake function consumes, only scorers call Bedrock.
    assert {f: beyond_tables(f) for f in FUNCTIONS} == {
        # The API also enqueues a test ping's retry (or gives it up to the webhooks DLQ), manages logins
        # and writes exports (CSV) to their bucket.
        "APIHandler": {
            "sqs:SendMessage",
            "bedrock:InvokeModel",
            "ssm:GetParameter",
            "s3:PutObject",
            "s3:GetObject",
            *LOGIN_ACTIONS,
            "ssm:PutParameter",
            "ssm:DeleteParameter",
        },
        "Intake": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        "Reassign": set(),
        "Audit": set(),
        "Rescore": {"bedrock:InvokeModel"},
        "Train": set(),
        "Tune": set(),
        "Shifts": set(),
        "Followup": set(),
        "Authorize": set(),
        # The stream consumers read the bot's secrets and hand up on records to the failures queue.
        # ... and enqueue webhook deliveries.
        "AppealEvents": {"ssm:GetParameter", "sqs:SendMessage"},
        "LeadEvents": {"ssm:GetParameter", "sqs:SendMessage"},
        # Consumes the delivery queue, re-enqueues retries, gives up to the DLQ; no other service.
        "WebhookDeliveries": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"},
    }


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _iam_requests(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(IAM action, table, index) an API call needs; IAM has no TransactWriteItems
    action, each item of a transaction is authorised as its own write."""
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            yield f"dynamodb:{_TRANSACT_ACTIONS[kind]}", body["TableName"], None
    elif operation == "TransactGetItems":
        for item in params["TransactItems"]:
            yield "dynamodb:GetItem", item["Get"]["TableName"], None
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params["RequestItems"]:
            yield f"dynamodb:{operation}", table, None
    else:
        yield f"dynamodb:{operation}", params["TableName"], params.get("IndexName")


@contextmanager
def dynamodb_requests() -> Iterator[set[tuple[str, str, str | None]]]:
    """Every (IAM action, table, index) the code asks DynamoDB for while the block runs."""
    seen: set[tuple[str, str, str | None]] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.update(_iam_requests(model.name, params))

    with on_dynamodb_event("provide-client-params.dynamodb", record):
        yield seen


def _outcomes(count: int) -> None:
    """Transferred and lost leads, enough for the trainer to train and store a model."""
    now = iso(utc_now())
    for number in range(count):
        Lead(
            f"ld_train{number:06d}",
            external_id=f"tg:train{number}",
            stage=TRANSFERRED if number % 2 else LOST,
            stage_changed_at=now,
            message_count=1 + number % 7,
            appeals_count=1 + number % 3,
            business_domain="retail" if number % 3 else None,
            created_at=now,
            updated_at=now,
            listed=LISTED,
        ).save()


def test_GIVEN_each_function_doing_its_work_WHEN_recording_its_dynamodb_requests_THEN_its_role_allows_each(
    template: dict[str, Any], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: dict[str, set[tuple[str, str, str | None]]] = {}
    with Client(app, stage_name="dev") as client:
        lambdas = client.lambda_
        scheduled = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        with dynamodb_requests() as done["APIHandler"]:
            people = [api.operator(name, max_load=1) for name in ("Anna", "Boris")]
            source = api.source(response_sla_seconds=60)
            api.weights(source["id"], {person["id"]: 10 for person in people})
            api.appeal(source["id"])
            key = api.post(f"/sources/{source['id']}/keys").body["api_key"]
        with dynamodb_requests() as done["Intake"]:
            # Two more than the team can take: one is assigned, two wait in line.
            lambdas.invoke("intake", sqs_event([sqs_record(intake_message(source["id"])) for _ in range(3)]))
        # The appeals stream's batch, as Lambda sends it with a tumbling window: the source
        # aggregates counted, the (unlinked) operators' notifications looked up.
        stream = {"Records": AppealsStream().records(), "shardId": "shardId-00000001-template"}
        with dynamodb_requests() as done["AppealEvents"]:
            assert lambdas.invoke("appeal_events", stream).payload == {"state": {}}
        with dynamodb_requests() as done["Reassign"]:
            # The job the Reassign function runs, on a clock past the SLA: lapses reclaimed, the line served.
            run_reassignment(now=utc_now() + timedelta(seconds=90))
        # A schedule whose next change has come: the shift job reads the sparse index and moves the row.
        off_all_week = {"time_zone": "Europe/Kyiv", "week": {"mon": [{"start": "09:00", "end": "09:30"}]}}
        assert api.put(f"/operators/{people[1]['id']}/schedule", off_all_week).status == 200
        Operator(people[1]["id"]).update(actions=[Operator.next_transition_at.set("2000-01-01T00:00:00.000000Z")])
        with dynamodb_requests() as done["Shifts"]:
            lambdas.invoke("shifts", scheduled)
        # A follow-up source's appeal, accepted and quiet for a period: the job reminds its operator.
        vera, quiet = api.operator("Vera", max_load=1), api.source(followup_seconds=60)
        api.weights(quiet["id"], {vera["id"]: 10})
        vera_appeal = api.appeal(quiet["id"])
        assert api.post(f"/appeals/{vera_appeal['id']}/accept", {"operator_id": vera["id"]}).status == 200
        with dynamodb_requests() as done["Followup"]:
            assert run_followup(now=utc_now() + timedelta(seconds=90)).reminded == 1
        with dynamodb_requests() as done["LeadEvents"]:
            # What the leads stream's consumer does for a stage move: the lead's accepted appeals' clocks restart.
            assert record_lead_activity(vera_appeal["lead_id"], utc_now() + timedelta(seconds=120)) == 1
        Operator(people[0]["id"]).update(actions=[Operator.active_load.add(1)])
        with dynamodb_requests() as done["Audit"]:
            lambdas.invoke("audit", scheduled)
        _outcomes(64)
        with dynamodb_requests() as done["Train"]:
            lambdas.invoke("train", scheduled)
        # Auto-tune on: the daily job reads the history and moves the weights (with a history record).
        assert api.patch(f"/sources/{source['id']}", {"auto_tune": True}).status == 200
        api.weights(source["id"], {people[0]["id"]: 50, people[1]["id"]: 10})
        with dynamodb_requests() as done["Tune"]:
            lambdas.invoke("tune", scheduled)
        monkeypatch.setenv("SCORER", "model")
        with dynamodb_requests() as done["Rescore"]:
            lambdas.invoke("rescore", scheduled)
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=WEBHOOK_QUEUE_NAME)["QueueUrl"]
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
        monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
        api.post("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
        with dynamodb_requests() as done["AppealEvents"]:
            dispatch(DomainEvent(id="ap_x:appeal.closed:3", type="appeal.closed", occurred_at=utc_now(), data={}))
        (message,) = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queue)["Messages"]
        with dynamodb_requests() as done["WebhookDeliveries"]:
            # Nothing listens on port 9: the attempt fails, is recorded and re-enqueued.
            lambdas.invoke("webhook_deliveries", sqs_event([sqs_record(message["Body"])]))
        with dynamodb_requests() as done["Authorize"]:
            answer = lambdas.invoke(
                "authorize",
                {
                    "type": "TOKEN",
                    "authorizationToken": f"Bearer {key}",
                    "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/sources",
                },
            )
    entities = {model.Meta.table_name: entity_of(model) for model in ALL_MODELS}

    assert answer.payload["principalId"] == f"source:{source['id']}"
    # Each function did real work (writes included), so the check below is not vacuous.
    for function in (
        "APIHandler",
        "Intake",
        "Reassign",
        "Shifts",
        "Audit",
        "Train",
        "Rescore",
        "Tune",
        "Followup",
        "LeadEvents",
        "AppealEvents",
        "WebhookDeliveries",
    ):
        assert any(action.endswith(("PutItem", "UpdateItem")) for action, _, _ in done[function]), function
    denied = sorted(
        (function, action, entities[table], index)
        for function, requests in done.items()
        for action, table, index in requests
        if not allows(template, function, action, entities[table], index)
    )
    assert denied == []


def test_GIVEN_the_bundle_WHEN_listing_it_THEN_every_module_ships_its_bytecode_for_the_runtime(
    package: Package,
) -> None:
    # Lambda's code directory is read-only: without these, every cold start recompiles every module.
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    with zipfile.ZipFile(package.bundle) as bundle:
        names = set(bundle.namelist())
    sources = [
        name for name in names if name.endswith(".py") and name.startswith(("app.py", "chalicelib/", "pynamodb/"))
    ]
    missing = [
        source
        for source in sources
        if f"{source.rpartition('/')[0] + '/' if '/' in source else ''}__pycache__/"
        f"{source.rpartition('/')[2][:-3]}.{tag}.pyc" not in names
    ]
    assert sources and missing == []


def test_GIVEN_the_built_console_WHEN_packaged_THEN_the_bundle_carries_it_and_the_gateway_compresses_it(
    package: Package, template: dict[str, Any]
) -> None:
    manifest = ROOT / "chalicelib" / "console_dist" / "manifest.json"
    if not manifest.exists():
        pytest.skip("the console is not built (`make console`; `make package` and `make test` build it)")
    files = [*json.loads(manifest.read_text())["files"], "manifest.json"]
    with zipfile.ZipFile(package.bundle) as bundle:
        names = set(bundle.namelist())

    assert {f"chalicelib/console_dist/{name}" for name in files} <= names
    # Text assets travel gzipped to browsers that ask (the script is ~4 times smaller).
    assert template["Resources"]["RestAPI"]["Properties"]["MinimumCompressionSize"] == 1024
    # The console signs in with the client the stack made, or the one it was given.
    assert environment(template, "APIHandler")["CONSOLE_COGNITO_CLIENT_ID"] == {
        "Fn::If": ["CreatesUserPool", {"Ref": "ConsoleAppClient"}, {"Ref": "ConsoleCognitoClientId"}]
    }


def test_GIVEN_the_appeals_stream_WHEN_reading_its_one_event_source_THEN_a_tumbling_window_names_the_shard(
    template: dict[str, Any],
) -> None:
    events = template["Resources"]["AppealEvents"]["Properties"]["Events"]
    (source,) = events.values()  # one handler of the appeals stream, dispatching to every consumer
    properties = source["Properties"]

    # Lambda sends `shardId` only with a tumbling window, and the aggregates' marks are per shard.
    assert 0 < properties["TumblingWindowInSeconds"] <= 900
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["Stream"] == {"Fn::GetAtt": ["AppealsTable", "StreamArn"]}
    # The aggregates write the sources table; without this the deployed stats stay 0.
    assert allows(template, "AppealEvents", "dynamodb:UpdateItem", entity_of(Source), None)
    assert allows(template, "AppealEvents", "dynamodb:GetItem", entity_of(Source), None)


def test_GIVEN_follow_up_aliases_WHEN_reading_the_appeals_table_THEN_its_ttl_is_their_expiry(
    template: dict[str, Any],
) -> None:
    ttl = template["Resources"]["AppealsTable"]["Properties"]["TimeToLiveSpecification"]

    assert ttl == {"AttributeName": MessageAlias.expires_at.attr_name, "Enabled": True}


def test_GIVEN_the_merged_package_WHEN_reading_its_throttling_THEN_stage_method_concurrency_waf_and_alarm_are_set(
    template: dict[str, Any],
) -> None:
    resources, parameters = template["Resources"], template["Parameters"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in resources["RestAPI"]["Properties"]["MethodSettings"]}

    # The stage as a whole, and the two routes strangers' bots hit hardest.
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    for path in ("/~1appeals", "/~1channels~1telegram~1{source_id}"):
        assert settings[(path, "POST")]["ThrottlingRateLimit"] == {"Ref": "BotPostRateLimit"}
    assert all(parameters[name]["Default"] > 0 for name in ("ApiRateLimit", "ApiBurstLimit", "BotPostRateLimit"))
    for function, parameter in (
        ("APIHandler", "ApiReservedConcurrency"),
        ("Authorize", "AuthorizerReservedConcurrency"),
    ):
        reserved = resources[function]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][1] == {"Ref": parameter} and parameters[parameter]["Default"] > 0
    # The WAF rate rule is there when asked for (WafRateLimit > 0), blocking per IP.
    acl = resources["ApiWebAcl"]
    assert acl["Condition"] == resources["ApiWebAclAssociation"]["Condition"] == "HasWaf"
    rule = acl["Properties"]["Rules"][0]
    assert rule["Statement"]["RateBasedStatement"] == {"Limit": {"Ref": "WafRateLimit"}, "AggregateKeyType": "IP"}
    assert rule["Action"] == {"Block": {}}
    alarm = resources["ApiRequestCountAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/ApiGateway",
        "Count",
        {"Ref": "ApiRequestAlarmThreshold"},
    )


def test_GIVEN_each_function_WHEN_reading_its_log_permissions_THEN_only_its_own_group_kept_for_the_retention_set(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    for function in FUNCTIONS:
        name = resources[function]["Properties"]["FunctionName"]["Fn::Sub"]
        logs = [s for s in statements(template, function) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
        own_group = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/" + name + ":*"
        assert [s["Resource"] for s in logs] == [{"Fn::Sub": own_group}], function
        group = resources[f"{function}LogGroup"]["Properties"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{name}"}
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_GIVEN_the_scorers_roles_WHEN_reading_bedrock_THEN_only_the_configured_model_and_only_with_the_llm_scorer(
    template: dict[str, Any],
) -> None:
    assert template["Conditions"]["UsesLlmScorer"]["Fn::And"][0] == {"Fn::Equals": [{"Ref": "Scorer"}, "llm"]}
    for function in ("APIHandler", "Rescore"):
        (bedrock,) = [s for s in raw_statements(template, function) if "Fn::If" in s]
        condition, granted, otherwise = bedrock["Fn::If"]
        assert (condition, otherwise) == ("UsesLlmScorer", {"Ref": "AWS::NoValue"})
        assert all("${BedrockModelId}" in r["Fn::Sub"] and "*" not in r["Fn::Sub"] for r in granted["Resource"])
