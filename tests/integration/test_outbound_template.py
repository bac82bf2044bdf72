"""What template.yaml makes for the outbound side: the tables shaped as shared/src/outbound/dynamodb.rs
says (and as test_outbound_lambda.py makes them in moto), the queues and their dead-letter queues,
the two functions with their SQS event sources and settings, and least-privilege roles: fan-out can
read no endpoint's keys, and only the delivery function's role may decrypt them (the key's policy).

The template is expanded and translated as test_observability_template.py does it (.venv-sam, or
INLET_VENV_SAM); nothing calls AWS."""

from __future__ import annotations

import json
import re

from conftest import ROOT
from test_observability_template import template, translated  # noqa: F401 - fixtures

# The outbound settings' names live with the others in config (outbound::settings reads them).
SETTINGS = ROOT / "shared" / "src" / "config.rs"
LAMBDA = ROOT / "shared" / "src" / "outbound" / "lambda.rs"


def statements(role: dict) -> list[dict]:
    return [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def actions(statement: dict) -> set[str]:
    a = statement["Action"]
    return {a} if isinstance(a, str) else set(a)


def test_the_tables_are_the_adapters_shapes(template):
    r = template["Resources"]
    endpoints, deliveries = r["EndpointsTable"]["Properties"], r["DeliveriesTable"]["Properties"]
    for table in (endpoints, deliveries):
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["SSESpecification"]["SSEEnabled"] is True
    assert endpoints["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert endpoints["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert deliveries["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert {(d["AttributeName"], d["AttributeType"]) for d in deliveries["AttributeDefinitions"]} == {
        ("pk", "S"), ("sk", "S"), ("endpoint_id", "S"), ("event_id", "S"), ("at", "N")}
    indexes = {i["IndexName"]: i for i in deliveries["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by-endpoint", "by-event"}
    for name, hash_key in [("by-endpoint", "endpoint_id"), ("by-event", "event_id")]:
        assert indexes[name]["KeySchema"] == [{"AttributeName": hash_key, "KeyType": "HASH"},
                                              {"AttributeName": "at", "KeyType": "RANGE"}]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    # The endpoints (and the key their keys are encrypted under) outlive the stack.
    assert r["EndpointsTable"]["DeletionPolicy"] == r["EndpointKeysKey"]["DeletionPolicy"] == "Retain"


def test_the_queues_outlast_their_functions_and_have_dead_letter_queues(template):
    r = template["Resources"]
    timeout = {q: r[f]["Properties"]["Timeout"] for q, f in [
        ("OutboxQueue", "FanoutFunction"), ("RelayQueue", "FanoutFunction"), ("DeliveryQueue", "DeliveryFunction"), ("OrderedDeliveryQueue", "DeliveryFunction")]}
    for queue, seconds in timeout.items():
        props = r[queue]["Properties"]
        assert props["VisibilityTimeout"] >= 6 * seconds, queue
        dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert r[dlq]["Type"] == "AWS::SQS::Queue" and r[dlq]["Properties"].get("FifoQueue") == props.get("FifoQueue")
        for q in (queue, dlq):
            sse = r[q]["Properties"]
            assert "SqsManagedSseEnabled" in sse and "KmsMasterKeyId" in sse, q
    # A message back while a delivery still claims its task is dropped as a copy: the claim (LEASE_MS)
    # must end first.
    lease = re.search(r"const LEASE_MS: i64 = (\d+) \* 60_000;", LAMBDA.read_text())
    assert lease and r["DeliveryQueue"]["Properties"]["VisibilityTimeout"] > int(lease[1]) * 60
    ordered = r["OrderedDeliveryQueue"]["Properties"]
    assert ordered["FifoQueue"] is True and ordered["ContentBasedDeduplication"] is False
    # Each wait of an ordered task is a receive: MaxReceiveCount (5) would dead-letter a retried task.
    assert ordered["RedrivePolicy"]["maxReceiveCount"] == 1000


def test_the_functions_are_fed_by_their_queues_and_told_their_settings(template):
    r = template["Resources"]
    fanout, delivery = r["FanoutFunction"], r["DeliveryFunction"]
    assert fanout["Metadata"]["BuildProperties"]["Binary"] == "inlet-fanout"
    assert delivery["Metadata"]["BuildProperties"]["Binary"] == "inlet-delivery"
    outboxes = {e["Properties"]["Queue"]["Fn::GetAtt"][0]: e["Properties"] for e in fanout["Properties"]["Events"].values()}
    assert set(outboxes) == {"OutboxQueue", "RelayQueue"}
    assert all(e["BatchSize"] == 10 for e in outboxes.values())
    sources = {e["Properties"]["Queue"]["Fn::GetAtt"][0]: e["Properties"] for e in delivery["Properties"]["Events"].values()}
    assert set(sources) == {"DeliveryQueue", "OrderedDeliveryQueue"}
    for e in [*outboxes.values(), *sources.values()]:
        assert e["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for e in sources.values():
        assert e["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "OutboundMaximumConcurrency"}}
        # A batch's attempts, one after another, fit the function's timeout.
        assert e["BatchSize"] * template["Parameters"]["OutboundTimeoutSeconds"]["MaxValue"] < delivery["Properties"]["Timeout"]
    env = delivery["Properties"]["Environment"]["Variables"]
    outbound = {k: v for k, v in env.items() if k.startswith("INLET_OUTBOUND_")}
    assert outbound == {
        "INLET_OUTBOUND_SCHEDULE": {"Ref": "OutboundSchedule"},
        "INLET_OUTBOUND_TIMEOUT_SECONDS": {"Ref": "OutboundTimeoutSeconds"},
        "INLET_OUTBOUND_ALLOW_HTTP": {"Ref": "OutboundAllowHttp"},
        "INLET_OUTBOUND_ALLOW_NETWORKS": {"Ref": "OutboundAllowNetworks"},
        "INLET_OUTBOUND_DISABLE_AFTER": {"Ref": "OutboundDisableAfter"},
    }
    known = set(re.findall(r'"(INLET_OUTBOUND_[A-Z_]+)"', SETTINGS.read_text()))
    assert set(outbound) <= known, "every variable is one the function knows (an unknown one stops it)"
    # The defaults are the settings' own: empty is unset.
    params = template["Parameters"]
    assert (params["OutboundSchedule"]["Default"], params["OutboundAllowNetworks"]["Default"]) == ("", "")
    assert (params["OutboundTimeoutSeconds"]["Default"], params["OutboundAllowHttp"]["Default"],
            params["OutboundDisableAfter"]["Default"]) == (15, "false", "5d")
    for fn, extra in [(fanout, set()), (delivery, {"ENDPOINT_KEYS_KEY_ID"})]:
        env = fn["Properties"]["Environment"]["Variables"]
        assert {"ENDPOINTS_TABLE", "DELIVERIES_TABLE", "DELIVERY_QUEUE_URL", "ORDERED_QUEUE_URL"} | extra <= set(env)
        assert env["INLET_SOURCE_SETTINGS"] == "", "the sources' NoEcho settings are not theirs"
    assert "ENDPOINT_KEYS_KEY_ID" not in fanout["Properties"]["Environment"]["Variables"]


def test_fan_out_cannot_read_keys_and_only_delivery_may_decrypt_them(translated):  # noqa: F811
    r = translated["Resources"]
    fanout, delivery = statements(r["FanoutFunctionRole"]), statements(r["DeliveryFunctionRole"])
    by_sid = lambda ss: {s["Sid"]: s for s in ss if isinstance(s, dict) and "Sid" in s}  # noqa: E731
    f, d = by_sid(fanout), by_sid(delivery)
    assert actions(f["ReadEndpoints"]) == {"dynamodb:Scan", "dynamodb:GetItem"}
    assert actions(f["RecordTasks"]) == {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert actions(f["QueueTasks"]) == {"sqs:SendMessage"}
    assert f["StoreLargeEvents"]["Resource"]["Fn::Sub"].endswith("/outbound/events/*")
    assert actions(d["RequeueTasks"]) == {"sqs:SendMessage", "sqs:ChangeMessageVisibility"}
    assert d["SendOperationalEvents"]["Resource"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    assert d["ReadLargeEvents"]["Resource"]["Fn::Sub"].endswith("/outbound/events/*")
    assert d["ParkExhaustedTasks"]["Resource"]["Fn::Sub"].endswith("/outbound/parked/*")
    # Neither role names the endpoints' key: its policy is where Decrypt is granted.
    assert "EndpointKeysKey" not in json.dumps(fanout) + json.dumps(delivery)
    policy = r["EndpointKeysKey"]["Properties"]["KeyPolicy"]["Statement"]
    plain = [s for s in policy if "Fn::If" not in s]
    decrypting = [s for s in plain if "kms:Decrypt" in actions(s) or "kms:*" in actions(s)]
    assert [s["Principal"] for s in decrypting] == [{"AWS": {"Fn::GetAtt": ["DeliveryFunctionRole", "Arn"]}}]
    assert decrypting[0]["Condition"]["ForAllValues:StringEquals"] == {"kms:EncryptionContextKeys": ["inlet:endpoint"]}
    # Operators decrypt only when EndpointAdminArns names them (update, rotate-secret need it), and
    # only under the same condition.
    [(condition, admins, otherwise)] = [s["Fn::If"] for s in policy if "Fn::If" in s]
    assert (condition, otherwise) == ("HasEndpointAdmins", {"Ref": "AWS::NoValue"})
    assert admins["Principal"] == {"AWS": {"Ref": "EndpointAdminArns"}} and actions(admins) == {"kms:Decrypt"}
    assert admins["Condition"] == decrypting[0]["Condition"]
    assert translated["Parameters"]["EndpointAdminArns"]["Default"] == ""
    assert r["EndpointKeysKey"]["Properties"]["EnableKeyRotation"] is True


def test_receivers_relay_on_their_own_queue_and_fan_out_trusts_only_its_claim_checks(template, translated):  # noqa: F811
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["INLET_RELAY"] == {"Ref": "Relay"} and env["RELAY_QUEUE_URL"] == {"Ref": "RelayQueue"}
    assert template["Parameters"]["Relay"]["Default"] == "", "nothing is relayed unless asked"
    assert "INLET_RELAY" in re.findall(r'"(INLET_[A-Z_]+)"', SETTINGS.read_text())
    r = translated["Resources"]
    receivers = [k for k in r if k.endswith("FunctionRole") and k not in ("FanoutFunctionRole", "DeliveryFunctionRole")]
    assert receivers
    for role in receivers:
        [relay] = [s for s in statements(r[role]) if isinstance(s, dict) and s.get("Sid") == "RelayReceivedEvents"]
        assert actions(relay) == {"sqs:SendMessage", "sqs:GetQueueAttributes"}, role
        assert relay["Resource"] == {"Fn::GetAtt": ["RelayQueue", "Arn"]}, role
        assert "OutboxQueue" not in json.dumps(statements(r[role])), "receivers cannot publish"
    [read] = [s for s in statements(r["FanoutFunctionRole"]) if s.get("Sid") == "ReadRelayedBodies"]
    assert actions(read) == {"s3:GetObject"} and read["Resource"]["Fn::Sub"].endswith("/payloads/*")
    fanout = template["Resources"]["FanoutFunction"]["Properties"]
    assert fanout["Environment"]["Variables"]["RELAY_QUEUE_ARN"] == {"Fn::GetAtt": ["RelayQueue", "Arn"]}
    queues = {e["Properties"]["Queue"]["Fn::GetAtt"][0] for e in fanout["Events"].values()}
    assert queues == {"OutboxQueue", "RelayQueue"}
