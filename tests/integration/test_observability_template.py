"""What template.yaml gives an operator, for a deployment of three sources chosen by name: a
dashboard whose body is valid JSON once CloudFormation has substituted it, with a graph for every
metric the functions write (SEARCHed, so every source appears), the dead-letter queue and the
functions' own Lambda metrics; per source, two alarms on learned bands (accepted events below,
signature failures above) each with its anomaly detector, and a static alarm on 5xx answers and
parked events, all notifying the optional topic; the metrics namespace in every function's
environment; X-Ray write access from SAM alone; and saved Logs Insights queries equal to
infra/queries.

The template is expanded by infra/scripts/expand-template.py with SAM's YAML loader and run through
SAM's translator, both in .venv-sam (which check-template uses); nothing calls AWS."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# INLET_VENV_SAM: as infra/scripts/check-template reads it.
SAM_PYTHON = Path(os.environ.get("INLET_VENV_SAM") or ROOT / ".venv-sam") / "bin" / "python"
QUERIES = ROOT / "infra" / "queries"
TELEMETRY = ROOT / "shared" / "src" / "app" / "telemetry.rs"

SOURCES = ["shopify", "paddle", "billing"]

# The metrics the functions write (shared/src/app/telemetry.rs): those with the Source dimension only,
# and those that also carry Problem.
SOURCE_METRICS = ["Accepted", "Duplicates", "Handshakes", "ClaimChecked", "Parked", "QueueSendLatency", "BodyBytes",
                  "ColdStarts"]
PROBLEM_METRICS = ["Rejected", "Failed"]
FAILED_PROBLEMS = ["queue-unavailable", "delivery-in-progress", "verification-unavailable", "queue-rejected"]

# What CloudFormation would substitute, for a stack named inlet-test deployed with a namespace of
# its own (so a Ref to MetricsNamespace and the default cannot be told apart by accident).
NAMES = {
    "AWS::StackName": "inlet-test",
    "AWS::Region": "eu-west-1",
    "MetricsNamespace": "Inlet/test",
    "DeadLetterQueue.QueueName": "inlet-test-DeadLetterQueue-1A2B3C4D5E6F",
    "EventQueue.QueueName": "inlet-test-EventQueue-6F5E4D3C2B1A",
    "WebhookApi": "a1b2c3d4e5",
    "Dashboard": "inlet-test-eu-west-1",
}
TOPIC = "arn:aws:sns:eu-west-1:123456789012:inlet-alarms"
NO_VALUE = object()

SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


def sam_python(*args: str) -> str:
    """Runs .venv-sam's Python (SAM's YAML loader and translator) with `args`; returns its output."""
    if not SAM_PYTHON.exists():
        pytest.fail(f"{SAM_PYTHON} is missing: run infra/scripts/setup-test-tools first (infra/scripts/test does)")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    out = subprocess.run([str(SAM_PYTHON), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """template.yaml with its loops expanded for SOURCES, as check-template expands it."""
    path = tmp_path_factory.mktemp("template") / "expanded.json"
    sam_python(str(ROOT / "infra" / "scripts" / "expand-template.py"), ",".join(SOURCES), str(path),
               str(ROOT / "template.yaml"))
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def translated(template, tmp_path_factory) -> dict:
    """The expanded template after SAM's transform (the functions, roles and policies it makes)."""
    path = tmp_path_factory.mktemp("translated") / "template.json"
    path.write_text(json.dumps(template))
    code = """
import json, sys
from samtranslator.translator.transform import transform
template = json.load(open(sys.argv[1]))
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://bucket/bootstrap.zip"  # what sam deploy uploads
class NoManagedPolicies:
    def load(self):
        return {}
print(json.dumps(transform(template, {}, NoManagedPolicies())))
"""
    return json.loads(sam_python("-c", code, str(path)))


def resolve(node, names: dict = NAMES):
    """The value of the intrinsic functions the template uses, with `names` for what only a stack knows."""
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            return names[arg]
        if fn == "Fn::GetAtt":
            return names[".".join(arg) if isinstance(arg, list) else arg]
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            known = {**names, **{k: resolve(v, names) for k, v in variables.items()}}
            # ${!X} is CloudFormation's escape for a literal ${X}.
            return SUB_VARIABLE.sub(lambda m: "${" + m[2] + "}" if m[1] else known[m[2]], text)
    return node


def evaluate(node, params: dict, conditions: dict):
    """A property's value under `params`: Fn::If on the template's conditions, AWS::NoValue as NO_VALUE."""
    if isinstance(node, list):
        return [evaluate(n, params, conditions) for n in node]
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else params[arg]
        if fn == "Fn::Equals":
            return evaluate(arg[0], params, conditions) == evaluate(arg[1], params, conditions)
        if fn == "Fn::Not":
            return not evaluate(arg[0], params, conditions)
        if fn == "Fn::If":
            return evaluate(arg[1] if evaluate(conditions[arg[0]], params, conditions) else arg[2], params, conditions)
    return node


def dashboard_body(template: dict) -> dict:
    return json.loads(resolve(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]))


def graphs(body: dict) -> list[dict]:
    return [w for w in body["widgets"] if w["type"] == "metric"]


def expressions(body: dict) -> list[str]:
    return [m[0]["expression"] for w in graphs(body) for m in w["properties"]["metrics"] if isinstance(m[0], dict)]


def dimensions(metric_stat: dict) -> dict:
    return {d["Name"]: d["Value"] for d in metric_stat["Metric"].get("Dimensions", [])}


# ---------------------------------------------------------------- dashboard

def test_the_dashboard_graphs_every_metric_of_every_source(template):
    body = dashboard_body(template)
    searches = expressions(body)
    namespace = NAMES["MetricsNamespace"]
    for name in SOURCE_METRICS:
        assert any(f"""SEARCH('{{"{namespace}",Source}} MetricName="{name}"'""" in e for e in searches), name
    for name in PROBLEM_METRICS:
        # Rejected and Failed have no series without Problem: a search on Source alone finds none.
        assert any(f"""SEARCH('{{"{namespace}",Problem,Source}} MetricName="{name}"'""" in e for e in searches), name
        assert not any(f"""{{"{namespace}",Source}} MetricName="{name}\"""" in e for e in searches), name
    latency = [e for e in searches if 'MetricName="QueueSendLatency"' in e]
    assert {e.rsplit("'", 3)[-2] for e in latency} == {"p50", "p99"}
    # Every custom-metric search sums or summarises 5-minute periods of this stack's namespace.
    for e in searches:
        if "AWS/Lambda" not in e:
            assert re.match(f"""SEARCH\\('{{"{re.escape(namespace)}"[,}}]""", e) and e.endswith(", 300)"), e


# The outbound side's metrics (shared/src/outbound/telemetry.rs) and the dimensions they carry.
OUTBOUND_METRICS = {"OutboundAttempts": "Class,Outcome", "OutboundDelivered": "", "OutboundTasksCreated": "",
                    "OutboundExhausted": "", "OutboundEndpointsDisabled": "Reason", "OutboundLatency": "",
                    "OutboundHeld": "Reason"}


def test_the_dashboard_graphs_the_outbound_metrics(template):
    searches = expressions(dashboard_body(template))
    namespace = NAMES["MetricsNamespace"]
    for name, dims in OUTBOUND_METRICS.items():
        schema = f'"{namespace}",{dims}' if dims else f'"{namespace}"'
        assert any(f"""SEARCH('{{{schema}}} MetricName="{name}"'""" in e for e in searches), name
    latency = [e for e in searches if 'MetricName="OutboundLatency"' in e]
    assert {e.rsplit("'", 3)[-2] for e in latency} == {"p50", "p99"}


def test_the_dashboard_shows_the_dead_letter_queue_and_the_functions_lambda_metrics(template):
    body = dashboard_body(template)
    plain = [m for w in graphs(body) for m in w["properties"]["metrics"] if isinstance(m[0], str)]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", NAMES["DeadLetterQueue.QueueName"]] in [
        m[:4] for m in plain]
    assert ["AWS/ApiGateway", "5xx", "ApiId", NAMES["WebhookApi"]] in [m[:4] for m in plain]
    searches = expressions(body)
    stack = NAMES["AWS::StackName"]
    for name in ["Errors", "Throttles", "Duration"]:
        assert any(f"""SEARCH('{{AWS/Lambda,FunctionName}} MetricName="{name}" FunctionName={stack}'""" in e
                   for e in searches), name
    # The search finds the functions by the stack's name because that is how they are named.
    functions = {resolve(template["Resources"][f"{s}Function"]["Properties"]["FunctionName"]) for s in SOURCES}
    assert functions == {f"{stack}-{s}" for s in SOURCES}
    assert all(len(f) <= 64 for f in functions)


def test_the_dashboard_body_is_laid_out_and_explained(template):
    resources = template["Resources"]
    assert resolve(resources["Dashboard"]["Properties"]["DashboardName"]) == NAMES["Dashboard"]
    url = resolve(template["Outputs"]["DashboardUrl"]["Value"])
    assert url.startswith("https://eu-west-1.console.aws.amazon.com/") and url.endswith("/inlet-test-eu-west-1")
    body = dashboard_body(template)
    text, *widgets = body["widgets"]
    assert text["type"] == "text" and (text["x"], text["y"], text["width"]) == (0, 0, 24)
    cells = set()
    for w in body["widgets"]:
        assert 0 <= w["x"] and w["x"] + w["width"] <= 24, w
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not area & cells, f"{w.get('properties', {}).get('title')} overlaps another widget"
        cells |= area
    markdown = text["properties"]["markdown"]
    for w in widgets:
        props = w["properties"]
        assert props["region"] == NAMES["AWS::Region"]
        ids = [m[0]["id"] for m in props["metrics"] if isinstance(m[0], dict)]
        assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][A-Za-z0-9_]*", i) for i in ids), ids
        # The text at the top says what each graph means, under the graph's own title.
        assert f"**{props['title'].removesuffix(' (ms)')}**" in markdown, props["title"]
    # Dynamic labels reach CloudWatch as written (${!...} is only CloudFormation's escape).
    assert "${PROP('Dim.Source')}" in json.dumps(body)


# ---------------------------------------------------------------- alarms

def detector_and_alarm(template: dict, source: str, name: str) -> tuple[list[dict], dict]:
    resources = template["Resources"]
    detector = resources[f"{source}{name}AnomalyDetector"]
    alarm = resources[f"{source}{name}AnomalyAlarm"]
    assert detector["Type"] == "AWS::CloudWatch::AnomalyDetector" and alarm["Type"] == "AWS::CloudWatch::Alarm"
    # Created after its detector and deleted before it, or CloudWatch makes a model of its own.
    assert alarm["DependsOn"] == f"{source}{name}AnomalyDetector"
    return detector["Properties"]["MetricMathAnomalyDetector"]["MetricDataQueries"], alarm["Properties"]


def check_band(queries: list[dict], alarm: dict, metric: str, want_dimensions: dict) -> None:
    """The detector's model is FILL(metric, 0) of the source's metric, and the alarm watches that
    model's band: the same queries (which is how an alarm names a metric-math model) plus the band."""
    [stat] = [q for q in queries if "MetricStat" in q]
    assert stat["MetricStat"]["Metric"]["Namespace"] == {"Ref": "MetricsNamespace"}
    assert stat["MetricStat"]["Metric"]["MetricName"] == metric
    assert dimensions(stat["MetricStat"]) == want_dimensions
    assert stat["MetricStat"]["Stat"] == "Sum" and stat["ReturnData"] is False
    [filled] = [q for q in queries if q.get("ReturnData")]
    assert filled["Expression"] == f"FILL({stat['Id']}, 0)"
    band = {q["Id"]: q for q in alarm["Metrics"]}[alarm["ThresholdMetricId"]]
    match = re.fullmatch(r"ANOMALY_DETECTION_BAND\((\w+), (\d+(?:\.\d+)?)\)", band["Expression"])
    assert match and match[1] == filled["Id"], band
    assert 2 <= float(match[2]) <= 3
    assert [q for q in alarm["Metrics"] if q is not band] == queries
    assert alarm["DatapointsToAlarm"] <= alarm["EvaluationPeriods"]


@pytest.mark.parametrize("source", SOURCES)
def test_accepted_events_below_the_learned_band_alarm(template, source):
    queries, alarm = detector_and_alarm(template, source, "Accepted")
    check_band(queries, alarm, "Accepted", {"Source": source})
    assert alarm["ComparisonOperator"] == "LessThanLowerThreshold"
    # A window with no data at all must neither alarm a quiet source nor clear a silent busy one.
    assert alarm["TreatMissingData"] == "ignore"


@pytest.mark.parametrize("source", SOURCES)
def test_signature_failures_above_the_learned_band_alarm(template, source):
    queries, alarm = detector_and_alarm(template, source, "SignatureFailures")
    check_band(queries, alarm, "Rejected", {"Source": source, "Problem": "invalid-signature"})
    assert alarm["ComparisonOperator"] == "GreaterThanUpperThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("source", SOURCES)
def test_a_failed_function_any_5xx_answer_or_parked_event_alarms(template, source):
    alarm = template["Resources"][f"{source}FailuresAlarm"]["Properties"]
    stats = {q["Id"]: q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q}
    watched = {(s["Metric"]["MetricName"], dimensions(s).get("Problem")) for s in stats.values()}
    assert watched == ({("Failed", p) for p in FAILED_PROBLEMS} | {("Parked", None)}
                       | {("Errors", None), ("Throttles", None)})
    for s in stats.values():
        assert s["Period"] == 60
        if s["Metric"]["Namespace"] == "AWS/Lambda":
            assert dimensions(s) == {"FunctionName": {"Ref": f"{source}Function"}}
        else:
            assert s["Metric"]["Namespace"] == {"Ref": "MetricsNamespace"} and dimensions(s)["Source"] == source
    [total] = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert sorted(t.strip() for t in total["Expression"].split("+")) == sorted(stats)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_alarm_lists_every_failed_problem_the_functions_answer():
    source = TELEMETRY.read_text()
    block = re.search(r"pub const FAILED_PROBLEMS: &\[&str\] = &\[(.*?)\];", source, re.S)
    assert block, "FAILED_PROBLEMS not found in telemetry.rs"
    assert re.findall(r'"([a-z-]+)"', block[1]) == FAILED_PROBLEMS
    rejected = re.search(r"pub const REJECTED_PROBLEMS: &\[&str\] = &\[(.*?)\];", source, re.S)
    assert rejected and '"invalid-signature"' in rejected[1]


@pytest.mark.parametrize("topic", ["", TOPIC])
def test_alarms_notify_the_topic_only_when_one_is_given(template, topic):
    resources = template["Resources"]
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    kinds = ["FailuresAlarm", "AcceptedAnomalyAlarm", "SignatureFailuresAnomalyAlarm"]
    assert set(alarms) == {f"{s}{k}" for s in SOURCES for k in kinds} | {
        "DeadLetterQueueAlarm", "Api5xxAlarm", "OutboundDeadLetterQueuesAlarm", "OutboundGaveUpAlarm"}
    for name, alarm in alarms.items():
        actions = evaluate(alarm["AlarmActions"], {"AlarmTopicArn": topic}, template["Conditions"])
        assert actions == ([topic] if topic else NO_VALUE), name


# ---------------------------------------------------------------- functions

def test_every_function_is_told_the_metrics_namespace(template, translated):
    assert template["Globals"]["Function"]["Environment"]["Variables"]["INLET_METRICS_NAMESPACE"] == {
        "Ref": "MetricsNamespace"}
    functions = {k: r["Properties"] for k, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == {f"{s}Function" for s in SOURCES} | {"FanoutFunction", "DeliveryFunction"}
    for name, fn in functions.items():
        assert fn["Environment"]["Variables"]["INLET_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}, name


def test_the_metrics_namespace_parameter(template):
    param = template["Parameters"]["MetricsNamespace"]
    assert (param["Type"], param["Default"]) == ("String", "Inlet")
    pattern = re.compile(param["AllowedPattern"])
    for ok in ["Inlet", "Inlet/prod", "my.app_1#webhooks:in-let", "x" * 255]:
        assert pattern.fullmatch(ok), ok
    for bad in ["", "AWS/Lambda", ":Inlet", "In let", "Inlet'", 'In"let', "x" * 256]:
        assert not pattern.fullmatch(bad), bad
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert {"Monitoring": ["MetricsNamespace", "AlarmTopicArn"]}.items() <= {
        g["Label"]["default"]: g["Parameters"] for g in groups}.items()
    grouped = [p for g in groups for p in g["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"]), "every parameter in exactly one group"


def test_sam_gives_each_role_x_ray_write_access_and_the_template_adds_none(translated):
    resources = translated["Resources"]
    for s in SOURCES:
        fn = resources[f"{s}Function"]["Properties"]
        assert fn["TracingConfig"] == {"Mode": "Active"}
        role = resources[f"{s}FunctionRole"]["Properties"]
        assert any(re.search(r":iam::aws:policy/(AWSXrayWriteOnlyAccess|AWSXRayDaemonWriteAccess)$", arn)
                   for arn in role["ManagedPolicyArns"]), role["ManagedPolicyArns"]
        inline = json.dumps(role.get("Policies", []))
        assert "SendToTheQueue" in inline and "xray:" not in inline, "X-Ray access comes from SAM's managed policy only"


# ---------------------------------------------------------------- saved queries

@pytest.mark.parametrize("query", ["delivery", "rejections"])
def test_saved_queries_are_the_files(template, query):
    definition = template["Resources"][f"{query.capitalize()}Query"]
    assert definition["Type"] == "AWS::Logs::QueryDefinition"
    props = definition["Properties"]
    assert props["QueryString"] == (QUERIES / f"{query}.insights").read_text()
    assert "LogGroupNames" not in props, "one pair for the stack, run over the log groups picked"
    assert resolve(props["Name"]) == f"inlet-test/{query}"
    # Stack-level: no source pays two of its resources for them.
    assert not [k for k in template["Resources"] if k.endswith(f"{query.capitalize()}Query") and k != f"{query.capitalize()}Query"]


def test_a_source_costs_few_of_the_stacks_500_resources(translated):
    """Each source's resources, after SAM's transform: the budget that bounds Sources."""
    per_source = [k for k in translated["Resources"] if k.startswith("paddle")]
    assert len(per_source) <= 12, sorted(per_source)


def query_lines(name: str) -> list[str]:
    text = (QUERIES / f"{name}.insights").read_text()
    assert text.startswith("# ") and "aws logs start-query" in text, "a header saying how to run it"
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_delivery_query_follows_one_id_through_the_logs():
    fields, where, order, _limit = query_lines("delivery")
    shown = {f.strip() for f in fields.removeprefix("fields ").split(",")}
    assert {"@timestamp", "source", "outcome", "status", "problem", "reason", "event_type", "message_id",
            "span.requestId", "span.traceId"} <= shown
    assert set(re.findall(r'([\w.@]+) = "DELIVERY-ID"', where)) == {"delivery_id", "message_id", "span.requestId"}
    assert order == "| sort @timestamp asc"


def test_the_rejections_query_counts_refusals_by_source_and_problem():
    where, stats, order = query_lines("rejections")
    assert where == 'filter outcome in ["rejected", "failed"]'
    assert stats == "| stats count(*) as requests by source, problem"
    assert order == "| sort requests desc"
