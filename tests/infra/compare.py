#!/usr/bin/env python3
"""Parity of the two deployments of Stepwise's serverless home.

    compare.py template.yaml infra/cdk.out/Stepwise.template.json

Expands the SAM template offline (aws-sam-translator, the library cfn-lint and the SAM CLI use) and
checks it against the template `cdk synth` wrote:

* the same resources under the same logical IDs and types (API Gateway's deployment is matched by
  type, its hash-named ID differs; the routes SAM keeps in the OpenAPI body and CDK in
  Resource/Method resources are compared as routes; nothing else may exist on one side only);
* the properties that matter, with intrinsic functions normalised (Fn::Sub and Fn::Join written
  out, AWS::Partition = aws): function binaries, runtime, architecture, handler, memory, timeout,
  role and the environment contract; table keys, GSI, billing, point-in-time recovery, retention;
  queue FIFO flags, deduplication, visibility timeouts, redrive; bucket encryption, public access
  and notifications; every IAM statement of every role (actions, resources, conditions) and its
  trust; event source mappings, permissions, the EventBridge rule; the API's routes and auth;
* the same parameters (type, default) and outputs (value);
* on each side, what AWS requires of the serverless home (`aws_rules`): EventBridge Scheduler's
  FIFO target has content-based deduplication, its dead-letter queue is a standard queue its role
  may send to, the tasks queue hands the invoker one message at a time, timers have a queue and a
  consumer apart from the tasks, and every queue's visibility timeout covers its consumer's.

Prints one line per check and a closing `N passed, M failed`; exits 1 on any failure.
"""
import json
import logging
import os
import re
import sys

CONTRACT = [
    "STEPWISE_TABLE",
    "STEPWISE_TRANSITIONS_QUEUE_URL",
    "STEPWISE_TRANSITIONS_QUEUE_ARN",
    "STEPWISE_TASKS_QUEUE_URL",
    "STEPWISE_TIMERS_QUEUE_URL",
    "STEPWISE_PAYLOAD_BUCKET",
    "STEPWISE_SCHEDULE_GROUP",
    "STEPWISE_SCHEDULER_ROLE_ARN",
    "STEPWISE_SCHEDULER_DEAD_LETTER_QUEUE_ARN",
    "STEPWISE_EVENT_BUS",
    "STEPWISE_RETENTION_DAYS",
    "STEPWISE_EVENT_SOURCE",
]
TRIGGER_ONLY = "STEPWISE_TRIGGER_STATE_MACHINE_ARN"
# The functions that commit steps hand their Task calls to the invoker (which hands its own to
# itself, by the name Lambda gives it).
HANDS_TASKS = {"ApiFunction", "StepperFunction"}
INVOKER_FUNCTION = "STEPWISE_INVOKER_FUNCTION"
BINARIES = {"ApiFunction": "api", "StepperFunction": "stepper", "InvokerFunction": "invoker",
            "TriggerFunction": "trigger"}

# Resources CDK declares that SAM folds into the RestApi's OpenAPI body.
API_INTERNALS = {"AWS::ApiGateway::Resource", "AWS::ApiGateway::Method"}
# CDK's bookkeeping, never a part of the deployment's behaviour.
CDK_ONLY = {"AWS::CDK::Metadata"}


def expand_sam(path):
    """The SAM template as CloudFormation, transformed offline."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # The translator wants an S3 location where `sam build` would put the built code.
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/key"
    for res in template["Resources"].values():
        if res.get("Type") == "AWS::Serverless::Function" and "CodeUri" in res.get("Properties", {}):
            res["Properties"]["CodeUri"] = "s3://bucket/key"

    class NoManagedPolicies:
        def load(self):
            return {}

    return transform(template, {}, NoManagedPolicies())


def canon(value):
    """Intrinsic functions written out as `${...}` strings, so both tools' spellings compare equal."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return fix("${%s}" % arg)
            if key == "Fn::GetAtt":
                target = arg if isinstance(arg, str) else ".".join(arg)
                return fix("${%s}" % target)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                for name, v in variables.items():
                    text = text.replace("${%s}" % name, str(canon(v)))
                return fix(text)
            if key == "Fn::Join":
                sep, parts = arg
                parts = [canon(p) for p in parts]
                if all(isinstance(p, str) for p in parts):
                    return fix(sep.join(parts))
                return {"Fn::Join": [sep, parts]}
        return {k: canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, str):
        return fix(value)
    return value


def fix(text):
    return text.replace("${AWS::Partition}", "aws").replace("${AWS::URLSuffix}", "amazonaws.com")


def target(value):
    """The logical ID a Ref / GetAtt (…Arn) points at."""
    text = canon(value)
    m = re.fullmatch(r"\$\{([A-Za-z0-9]+)(\.Arn)?\}", text) if isinstance(text, str) else None
    return m.group(1) if m else text


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def unless(st):
    """A statement granted under a condition (`Fn::If [cond, st, AWS::NoValue]`): (cond, st)."""
    if isinstance(st, dict) and list(st) == ["Fn::If"]:
        cond, then, _ = st["Fn::If"]
        return cond, then
    return None, st


def statements(doc):
    out = []
    for st in as_list((doc or {}).get("Statement")):
        cond, st = unless(st)
        out.append(json.dumps({
            "If": cond,
            "Sid": st.get("Sid"),
            "Effect": st.get("Effect"),
            "Principal": canon(st.get("Principal")),
            "Action": sorted(as_list(st.get("Action"))),
            "Resource": sorted(json.dumps(r, sort_keys=True) for r in as_list(canon(st.get("Resource")))),
            "Condition": canon(st.get("Condition")),
        }, sort_keys=True))
    return sorted(out)


def role_view(res, resources):
    p = res["Properties"]
    grants = []
    for pol in p.get("Policies", []):
        grants += statements(pol["PolicyDocument"])
    # Stand-alone AWS::IAM::Policy resources attached to this role count as its grants too.
    return {
        "trust": statements(p["AssumeRolePolicyDocument"]),
        "managed": sorted(canon(m) for m in p.get("ManagedPolicyArns", [])),
        "grants": sorted(grants),
        "boundary": canon(p.get("PermissionsBoundary")),
    }


def attached_policies(tpl, role_id):
    grants = []
    for res in tpl["Resources"].values():
        if res["Type"] == "AWS::IAM::Policy":
            roles = [target(r) for r in res["Properties"].get("Roles", [])]
            if role_id in roles:
                grants += statements(res["Properties"]["PolicyDocument"])
    return sorted(grants)


def pick(props, keys):
    return {k: canon(props.get(k)) for k in keys}


def view(logical_id, res, tpl):
    """The properties of one resource that parity is about."""
    t, p = res["Type"], res.get("Properties", {})
    if t == "AWS::Lambda::Function":
        v = pick(p, ["Runtime", "Architectures", "Handler", "MemorySize", "Timeout", "Role",
                     "Description", "ReservedConcurrentExecutions"])
        v["Environment"] = canon(p.get("Environment", {}).get("Variables"))
        v["Binary"] = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        v["BuildMethod"] = res.get("Metadata", {}).get("BuildMethod")
        return v
    if t == "AWS::DynamoDB::Table":
        v = pick(p, ["BillingMode", "KeySchema", "PointInTimeRecoverySpecification",
                     "TimeToLiveSpecification", "StreamSpecification", "SSESpecification"])
        v["AttributeDefinitions"] = sorted(json.dumps(a, sort_keys=True) for a in p["AttributeDefinitions"])
        v["GlobalSecondaryIndexes"] = sorted(
            json.dumps(canon(g), sort_keys=True) for g in p.get("GlobalSecondaryIndexes", []))
        v["DeletionPolicy"] = res.get("DeletionPolicy", "Delete")
        return v
    if t == "AWS::SQS::Queue":
        v = pick(p, ["FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
                     "FifoThroughputLimit", "VisibilityTimeout", "MessageRetentionPeriod",
                     "SqsManagedSseEnabled", "KmsMasterKeyId", "DelaySeconds"])
        v["FifoQueue"] = bool(p.get("FifoQueue", False))
        v["ContentBasedDeduplication"] = bool(p.get("ContentBasedDeduplication", False))
        redrive = p.get("RedrivePolicy")
        v["RedrivePolicy"] = None if redrive is None else {
            "deadLetterTargetArn": target(redrive["deadLetterTargetArn"]),
            "maxReceiveCount": int(redrive["maxReceiveCount"]),
        }
        return v
    if t == "AWS::S3::Bucket":
        v = pick(p, ["BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls",
                     "VersioningConfiguration", "LifecycleConfiguration"])
        notes = p.get("NotificationConfiguration", {})
        v["LambdaNotifications"] = sorted(
            (c["Event"], target(c["Function"])) for c in notes.get("LambdaConfigurations", []))
        v["DeletionPolicy"] = res.get("DeletionPolicy", "Delete")
        v["DependsOn"] = sorted(as_list(res.get("DependsOn")))
        return v
    if t == "AWS::IAM::Role":
        v = role_view(res, tpl["Resources"])
        v["grants"] = sorted(v["grants"] + attached_policies(tpl, logical_id))
        return v
    if t == "AWS::Lambda::EventSourceMapping":
        v = pick(p, ["BatchSize", "FunctionResponseTypes", "MaximumBatchingWindowInSeconds",
                     "ScalingConfig", "Enabled"])
        v["EventSourceArn"] = target(p["EventSourceArn"])
        v["FunctionName"] = target(p["FunctionName"])
        v["BatchSize"] = int(p.get("BatchSize", 10))
        return v
    if t == "AWS::Lambda::Permission":
        return {"Action": p["Action"], "Principal": p["Principal"],
                "FunctionName": target(p["FunctionName"]),
                "SourceAccount": canon(p.get("SourceAccount"))}
    if t == "AWS::Events::Rule":
        return {"EventPattern": canon(p.get("EventPattern")),
                "EventBusName": canon(p.get("EventBusName")),
                "State": p.get("State", "ENABLED"),
                "Targets": sorted(target(x["Arn"]) for x in p.get("Targets", []))}
    if t == "AWS::ApiGateway::RestApi":
        return {"EndpointTypes": p.get("EndpointConfiguration", {}).get("Types"),
                "Policy": canon(p.get("Policy"))}
    if t == "AWS::ApiGateway::Stage":
        log = p.get("AccessLogSetting") or {}
        return {"StageName": p.get("StageName"), "RestApiId": target(p.get("RestApiId")),
                "AccessLogDestination": target(log.get("DestinationArn")),
                "AccessLogFormat": json.loads(log["Format"]) if "Format" in log else None,
                "MethodSettings": canon(p.get("MethodSettings"))}
    if t == "AWS::CloudWatch::Dashboard":
        return {"DashboardBody": json.loads(canon(p["DashboardBody"]))}
    if t == "AWS::ApiGateway::Deployment":
        return {"RestApiId": target(p.get("RestApiId"))}
    if t == "AWS::Scheduler::ScheduleGroup":
        return pick(p, ["Name"])
    return canon(p)


def sam_routes(tpl):
    routes = set()
    for res in tpl["Resources"].values():
        if res["Type"] != "AWS::ApiGateway::RestApi" or "Body" not in res["Properties"]:
            continue
        body = res["Properties"]["Body"]
        schemes = body.get("components", {}).get("securitySchemes", {}) or body.get("securityDefinitions", {})
        for path, methods in body.get("paths", {}).items():
            for method, op in methods.items():
                verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                integ = op.get("x-amazon-apigateway-integration", {})
                auth = set()
                for req in op.get("security", []):
                    for name in req:
                        if schemes.get(name, {}).get("x-amazon-apigateway-authtype") == "awsSigv4":
                            auth.add("AWS_IAM")
                        else:
                            auth.add(name)
                fn = re.search(r"\$\{([A-Za-z0-9]+)\.Arn\}", str(canon(integ.get("uri"))))
                routes.add((path, verb, ",".join(sorted(auth)) or "NONE", integ.get("type", "").upper(),
                            fn.group(1) if fn else None, "credentials" in integ))
    return routes


def cdk_routes(tpl):
    res = tpl["Resources"]

    def path_of(resource_id):
        c = canon(resource_id)
        m = re.fullmatch(r"\$\{([A-Za-z0-9]+)\.RootResourceId\}", c) if isinstance(c, str) else None
        if m:
            return "/"
        node = res[target(resource_id)]["Properties"]
        parent = path_of(node["ParentId"])
        return parent.rstrip("/") + "/" + node["PathPart"]

    routes = set()
    for r in res.values():
        if r["Type"] != "AWS::ApiGateway::Method":
            continue
        p = r["Properties"]
        integ = p.get("Integration", {})
        fn = re.search(r"\$\{([A-Za-z0-9]+)\.Arn\}", str(canon(integ.get("Uri"))))
        routes.add((path_of(p["ResourceId"]), p["HttpMethod"], p.get("AuthorizationType", "NONE"),
                    integ.get("Type", "").upper(), fn.group(1) if fn else None, "Credentials" in integ))
    return routes


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}")
            if detail:
                for line in str(detail).splitlines():
                    print(f"       {line}")


def diff(a, b):
    return "SAM: " + json.dumps(a, sort_keys=True, default=str) + "\nCDK: " + json.dumps(b, sort_keys=True, default=str)


def sends_to(role):
    """The logical IDs a role's inline policies allow sqs:SendMessage on."""
    out = set()
    for pol in role["Properties"].get("Policies", []):
        for st in as_list(pol["PolicyDocument"].get("Statement")):
            if st.get("Effect") == "Allow" and "sqs:SendMessage" in as_list(st.get("Action")):
                out |= {target(x) for x in as_list(st.get("Resource"))}
    return out


def aws_rules(name, res, r):
    """Rules AWS enforces at run time that no linter knows (issue 10, findings 1 and 3)."""
    env = res["StepperFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    transitions = target(env.get("STEPWISE_TRANSITIONS_QUEUE_ARN"))
    q = res.get(transitions, {}).get("Properties", {})
    r.check(f"{name}: Scheduler's target {transitions} is FIFO with content-based deduplication "
            "(Scheduler sends no deduplication id)",
            bool(q.get("FifoQueue")) and str(q.get("ContentBasedDeduplication")).lower() == "true", q)
    dlq = target(env.get("STEPWISE_SCHEDULER_DEAD_LETTER_QUEUE_ARN"))
    r.check(f"{name}: the schedules' dead-letter queue {dlq} is a standard queue",
            res.get(dlq, {}).get("Type") == "AWS::SQS::Queue"
            and not res[dlq].get("Properties", {}).get("FifoQueue"), dlq)
    role = target(env.get("STEPWISE_SCHEDULER_ROLE_ARN"))
    allowed = sends_to(res[role]) if role in res else set()
    r.check(f"{name}: {role} may send to {transitions} and {dlq}", {transitions, dlq} <= allowed,
            sorted(map(str, allowed)))
    consumers = {}
    for v in res.values():
        if v["Type"] == "AWS::Lambda::EventSourceMapping":
            p = v["Properties"]
            consumers[target(p["EventSourceArn"])] = (target(p["FunctionName"]), int(p.get("BatchSize", 10)))
    tasks = target(env.get("STEPWISE_TASKS_QUEUE_URL"))
    r.check(f"{name}: {tasks} hands the invoker one message at a time (BatchSize 1)",
            consumers.get(tasks, (None, 0))[1] == 1, consumers.get(tasks))
    timers = target(env.get("STEPWISE_TIMERS_QUEUE_URL"))
    r.check(f"{name}: timers ({timers}) have a queue and a consumer apart from the tasks",
            timers != tasks and timers in consumers
            and consumers[timers][0] != consumers.get(tasks, (None,))[0], consumers)
    # The invoker calls as each execution's roleArn, and the api function checks at
    # CreateStateMachine that it can assume it: both roles need sts:AssumeRole (issue 9).
    for fn in ("InvokerFunction", "ApiFunction"):
        role = target(res[fn]["Properties"].get("Role"))
        assumes = role in res and any(
            st.get("Effect") == "Allow" and "sts:AssumeRole" in as_list(st.get("Action"))
            and any(":role/" in json.dumps(canon(x)) or x == "*" for x in as_list(st.get("Resource")))
            for pol in res[role]["Properties"].get("Policies", [])
            for st in as_list(pol["PolicyDocument"].get("Statement")))
        r.check(f"{name}: {fn}'s role {role} may sts:AssumeRole the state machines' roles", assumes, role)
    # Task calls handed to the invoker directly: the functions that commit steps may invoke it,
    # and a call Lambda gives up on goes to the tasks dead-letter queue, which the invoker's
    # role (Lambda sends as it) may send to.
    invokes = {target(x) for v in res.values() if v["Type"] == "AWS::IAM::Policy"
               for st in as_list(v["Properties"]["PolicyDocument"].get("Statement"))
               if "lambda:InvokeFunction" in as_list(st.get("Action"))
               and "InvokerFunction" in {target(x) for x in as_list(st.get("Resource"))}
               for x in as_list(v["Properties"].get("Roles"))}
    for fn in sorted(HANDS_TASKS | {"InvokerFunction"}):
        role = target(res[fn]["Properties"].get("Role"))
        r.check(f"{name}: {fn}'s role {role} may hand Task calls to the invoker", role in invokes,
                sorted(map(str, invokes)))
    tasks_dlq = target(res.get(tasks, {}).get("Properties", {}).get("RedrivePolicy", {})
                       .get("deadLetterTargetArn"))
    configs = [v["Properties"] for v in res.values() if v["Type"] == "AWS::Lambda::EventInvokeConfig"
               and target(v["Properties"].get("FunctionName")) == "InvokerFunction"]
    on_failure = [target(c.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
                  for c in configs]
    invoker_role = target(res["InvokerFunction"]["Properties"].get("Role"))
    r.check(f"{name}: the invoker's failed invocations go to the tasks dead-letter queue "
            f"{tasks_dlq}, which its role may send to",
            on_failure == [tasks_dlq] and tasks_dlq in sends_to(res[invoker_role]), on_failure)
    for queue, (fn, _) in sorted(consumers.items()):
        vt = int(res[queue]["Properties"].get("VisibilityTimeout", 30))
        to = int(res[fn]["Properties"].get("Timeout", 3))
        r.check(f"{name}: {queue} VisibilityTimeout {vt} >= {fn} Timeout {to} (Lambda requires it)",
                vt >= to)


def ops_rules(name, res, r):
    """Issue 10, findings 9 and 11: what an operator of the stack relies on."""
    def is_if(v, cond="HasKmsKey"):
        return isinstance(v, dict) and list(v) == ["Fn::If"] and v["Fn::If"][0] == cond
    key = "${KmsKeyArn}"
    # An optional customer-managed key: every store and log group is encrypted with it when
    # KmsKeyArn is set, and every role that reads or writes them may use it, through them only.
    for k, v in sorted(res.items()):
        p = v.get("Properties", {})
        if v["Type"] == "AWS::SQS::Queue":
            ok = is_if(p.get("KmsMasterKeyId")) and canon(p["KmsMasterKeyId"]["Fn::If"][1]) == key \
                and is_if(p.get("SqsManagedSseEnabled"))
        elif v["Type"] == "AWS::S3::Bucket":
            enc = p.get("BucketEncryption")
            ok = is_if(enc) and key in json.dumps(canon(enc["Fn::If"][1])) and "aws:kms" in json.dumps(enc)
        elif v["Type"] == "AWS::DynamoDB::Table":
            sse = p.get("SSESpecification")
            ok = is_if(sse) and canon(sse["Fn::If"][1].get("KMSMasterKeyId")) == key
        elif v["Type"] == "AWS::Logs::LogGroup":
            ok = is_if(p.get("KmsKeyId")) and canon(p["KmsKeyId"]["Fn::If"][1]) == key
        else:
            continue
        r.check(f"{name}: {k} ({v['Type']}) is encrypted with KmsKeyArn when it is set", ok, p)
    roles = sorted(k for k, v in res.items() if v["Type"] == "AWS::IAM::Role")
    for role in roles:
        grants = [unless(st) for pol in res[role]["Properties"].get("Policies", [])
                  for st in as_list(pol["PolicyDocument"].get("Statement"))]
        kms = [st for cond, st in grants if cond == "HasKmsKey"]
        ok = len(kms) == 1 and sorted(as_list(kms[0].get("Action"))) == ["kms:Decrypt", "kms:GenerateDataKey"] \
            and canon(kms[0].get("Resource")) == key \
            and "kms:ViaService" in kms[0].get("Condition", {}).get("StringEquals", {})
        r.check(f"{name}: {role} may use KmsKeyArn (Decrypt, GenerateDataKey) only through its services", ok, kms)
    # API access logs (JSON, to a log group with retention) and the stage's throttling.
    stages = [v["Properties"] for v in res.values() if v["Type"] == "AWS::ApiGateway::Stage"]
    for st in stages:
        log = st.get("AccessLogSetting") or {}
        group = target(log.get("DestinationArn"))
        try:
            fmt = json.loads(log.get("Format", ""))
        except ValueError:
            fmt = None
        r.check(f"{name}: the API stage logs each request as JSON to {group}, kept LogRetentionDays",
                isinstance(fmt, dict) and fmt.get("requestId") == "$context.requestId"
                and res.get(group, {}).get("Type") == "AWS::Logs::LogGroup"
                and canon(res[group]["Properties"].get("RetentionInDays")) == "${LogRetentionDays}", log)
        ms = canon(st.get("MethodSettings") or [])
        r.check(f"{name}: the API stage is throttled by ApiThrottlingRateLimit/BurstLimit",
                any(m.get("ResourcePath") == "/*" and m.get("HttpMethod") == "*"
                    and m.get("ThrottlingRateLimit") == "${ApiThrottlingRateLimit}"
                    and m.get("ThrottlingBurstLimit") == "${ApiThrottlingBurstLimit}" for m in ms), ms)
    r.check(f"{name}: one API stage", len(stages) == 1, len(stages))
    # Retention: closed executions' payloads expire with RetentionDays (tagged at the close),
    # offloaded queue messages after SQS can no longer hold them.
    rules = as_list((res.get("PayloadBucket", {}).get("Properties", {}).get("LifecycleConfiguration") or {}).get("Rules"))
    plain = {x.get("Id"): x for x in rules if isinstance(x, dict) and "Fn::If" not in x}
    kept = [x["Fn::If"] for x in rules if isinstance(x, dict) and "Fn::If" in x]
    r.check(f"{name}: PayloadBucket expires offloaded messages and, with RetentionDays, closed executions' payloads",
            plain.get("ExpireQueueMessages", {}).get("Prefix") == "messages/"
            and any(c == "HasRetention" and then.get("TagFilters") == [{"Key": "stepwise-retention", "Value": "closed"}]
                    and canon(then.get("ExpirationInDays")) == "${RetentionDays}" for c, then, _ in kept), rules)
    # GSI1 projects only what listings read (a step's META update then writes nothing to it).
    gsis = [g for v in res.values() if v["Type"] == "AWS::DynamoDB::Table"
            for g in v["Properties"].get("GlobalSecondaryIndexes", [])]
    r.check(f"{name}: GSI1 projects only what ListExecutions and the resource listings read (INCLUDE)",
            [g["Projection"].get("ProjectionType") for g in gsis] == ["INCLUDE"]
            and sorted(gsis[0]["Projection"].get("NonKeyAttributes", [])) == sorted(
                ["meta", "status", "stopMs", "redriveCount", "versionArn", "aliasArn", "mapRunArn", "arn", "body", "parent"]),
            gsis)
    # No queue trigger can take the account's concurrency.
    for k, v in sorted(res.items()):
        if v["Type"] == "AWS::Lambda::EventSourceMapping":
            mc = canon((v["Properties"].get("ScalingConfig") or {}).get("MaximumConcurrency"))
            r.check(f"{name}: {k} has a MaximumConcurrency parameter", isinstance(mc, str)
                    and mc.startswith("${") and mc.endswith("MaximumConcurrency}"), mc)
    # The dashboard: executions by status, dead letters, queue age, function errors,
    # throttles and duration; the status metric from every function's log group.
    boards = [v["Properties"] for v in res.values() if v["Type"] == "AWS::CloudWatch::Dashboard"]
    shown = set()
    for b in boards:
        for w in json.loads(canon(b["DashboardBody"]))["widgets"]:
            for m in w["properties"].get("metrics", []):
                shown.add(tuple(x for x in m if isinstance(x, str)))
    fns = [f for f in BINARIES if f in res]
    want = [("Stepwise/${AWS::StackName}", "Executions", "Status", s) for s in ("RUNNING", "SUCCEEDED", "FAILED")]
    want += [("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${%s.QueueName}" % q)
             for q in sorted(res) if res[q]["Type"] == "AWS::SQS::Queue" and q.endswith("DeadLetterQueue")]
    want += [("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "${%s.QueueName}" % q)
             for q in ("TransitionsQueue", "TasksQueue", "TimersQueue")]
    want += [("AWS/Lambda", m, "FunctionName", "${%s}" % f) for f in fns for m in ("Errors", "Throttles", "Duration")]
    r.check(f"{name}: one dashboard shows executions, dead letters, queue age, function errors, throttles, duration",
            len(boards) == 1 and not [w for w in want if w not in shown], [w for w in want if w not in shown])
    filtered = {target(v["Properties"]["LogGroupName"]) for v in res.values()
                if v["Type"] == "AWS::Logs::MetricFilter"
                and any(m.get("MetricName") == "Executions" for m in v["Properties"]["MetricTransformations"])}
    r.check(f"{name}: every function's log group feeds the Executions metric",
            {f"{f}LogGroup" for f in fns} <= filtered, sorted(filtered))


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    sam = expand_sam(argv[1])
    with open(argv[2], encoding="utf-8") as f:
        cdk = json.load(f)
    r = Report()

    sam_res = sam["Resources"]
    cdk_res = {k: v for k, v in cdk["Resources"].items() if v["Type"] not in CDK_ONLY}

    # 1. The same resources, by logical ID and type.
    def keyed(resources):
        out = {}
        for k, v in resources.items():
            if v["Type"] == "AWS::ApiGateway::Deployment":
                out.setdefault("<ApiGateway::Deployment>", []).append(k)
            elif v["Type"] not in API_INTERNALS:
                out[k] = v["Type"]
        return out

    ks, kc = keyed(sam_res), keyed(cdk_res)
    deps_s, deps_c = ks.pop("<ApiGateway::Deployment>", []), kc.pop("<ApiGateway::Deployment>", [])
    only_sam = sorted(f"{k} ({ks[k]})" for k in set(ks) - set(kc))
    only_cdk = sorted(f"{k} ({kc[k]})" for k in set(kc) - set(ks))
    r.check("same logical IDs in both templates", not only_sam and not only_cdk,
            f"only in SAM: {only_sam}\nonly in CDK: {only_cdk}")
    mistyped = sorted(k for k in set(ks) & set(kc) if ks[k] != kc[k])
    r.check("same resource type for every logical ID", not mistyped,
            "\n".join(f"{k}: SAM {ks[k]}, CDK {kc[k]}" for k in mistyped))
    r.check("one API deployment in each", len(deps_s) == 1 and len(deps_c) == 1, f"SAM {deps_s}, CDK {deps_c}")
    count = lambda res: sorted(v["Type"] for v in res.values() if v["Type"] not in API_INTERNALS)
    r.check("same multiset of resource types", count(sam_res) == count(cdk_res), diff(count(sam_res), count(cdk_res)))

    # 2. The properties that matter, resource by resource.
    for k in sorted(set(ks) & set(kc)):
        if ks[k] != kc[k]:
            continue
        a, b = view(k, sam_res[k], sam), view(k, cdk_res[k], cdk)
        r.check(f"{k} ({ks[k]}) properties", a == b, diff(a, b))
    if len(deps_s) == 1 and len(deps_c) == 1:
        a, b = view(deps_s[0], sam_res[deps_s[0]], sam), view(deps_c[0], cdk_res[deps_c[0]], cdk)
        r.check("API deployment properties", a == b, diff(a, b))

    # 3. API routes and their authorization.
    a, b = sam_routes(sam), cdk_routes(cdk)
    r.check("API routes (path, method, auth, integration, function, caller credentials)", a == b,
            diff(sorted(a), sorted(b)))
    expected = {("/", "ANY"), ("/{proxy+}", "ANY")}
    for name, routes in (("SAM", a), ("CDK", b)):
        r.check(f"{name}: API serves ANY / and ANY /{{proxy+}}, IAM-authorized, no caller credentials",
                {(x[0], x[1]) for x in routes} == expected
                and all(x[2] == "AWS_IAM" and x[4] == "ApiFunction" and not x[5] for x in routes),
                sorted(routes))

    # 4. The environment contract and the binaries, on both sides.
    for name, tpl in (("SAM", sam_res), ("CDK", cdk_res)):
        for fn, binary in BINARIES.items():
            res = tpl.get(fn)
            if res is None:
                r.check(f"{name}: {fn} exists", False)
                continue
            env = sorted(res["Properties"].get("Environment", {}).get("Variables", {}))
            want = sorted(CONTRACT + ([TRIGGER_ONLY] if fn == "TriggerFunction" else [])
                          + ([INVOKER_FUNCTION] if fn in HANDS_TASKS else []))
            r.check(f"{name}: {fn} reads exactly the environment contract", env == want, diff(want, env))
            p = res["Properties"]
            r.check(f"{name}: {fn} is binary `{binary}` on provided.al2023 arm64",
                    res.get("Metadata", {}).get("BuildProperties", {}).get("Binary") == binary
                    and p.get("Runtime") == "provided.al2023" and p.get("Architectures") == ["arm64"]
                    and p.get("Handler") == "bootstrap")

    # 5. Queue visibility timeouts cover six times their consumer's timeout.
    for name, tpl in (("SAM", sam_res), ("CDK", cdk_res)):
        for queue, fn in (("TransitionsQueue", "StepperFunction"), ("TasksQueue", "InvokerFunction"),
                          ("TimersQueue", "StepperFunction")):
            if queue not in tpl or fn not in tpl:
                r.check(f"{name}: {queue} and {fn} exist", False)
                continue
            vt = int(tpl[queue]["Properties"].get("VisibilityTimeout", 30))
            to = int(tpl[fn]["Properties"].get("Timeout", 3))
            r.check(f"{name}: {queue} VisibilityTimeout {vt} >= 6 x {fn} Timeout {to}", vt >= 6 * to)

    # 6. Nothing fails silently: every dead-letter queue has a depth and an age alarm, the
    #    trigger's asynchronous invocations an on-failure destination, and every queue and
    #    bucket refuses plain HTTP.
    for name, tpl in (("SAM", sam_res), ("CDK", cdk_res)):
        dlqs = sorted(k for k, v in tpl.items() if v["Type"] == "AWS::SQS::Queue" and k.endswith("DeadLetterQueue"))
        for dlq in dlqs:
            metrics = sorted(
                v["Properties"].get("MetricName") for v in tpl.values()
                if v["Type"] == "AWS::CloudWatch::Alarm"
                and canon(v["Properties"].get("Dimensions", [{}])[0].get("Value")) == "${%s.QueueName}" % dlq)
            r.check(f"{name}: {dlq} has depth and age alarms",
                    metrics == ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"], metrics)
        onfail = [v["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                  for v in tpl.values() if v["Type"] == "AWS::Lambda::EventInvokeConfig"
                  and target(v["Properties"].get("FunctionName")) == "TriggerFunction"]
        r.check(f"{name}: TriggerFunction's failed invocations go to a dead-letter queue",
                [target(d) for d in onfail] == ["TriggerDeadLetterQueue"], onfail)
        guarded = set()
        for v in tpl.values():
            if v["Type"] in ("AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy"):
                doc = v["Properties"]["PolicyDocument"]
                if any(st.get("Effect") == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                       for st in as_list(doc.get("Statement"))):
                    guarded.update(target(q) for q in as_list(v["Properties"].get("Queues")))
                    guarded.add(target(v["Properties"].get("Bucket")))
        stores = sorted(k for k, v in tpl.items() if v["Type"] in ("AWS::SQS::Queue", "AWS::S3::Bucket"))
        r.check(f"{name}: every queue and bucket denies plain HTTP", set(stores) <= guarded,
                sorted(set(stores) - guarded))

    # 7. Parameters and outputs.
    ps = {k: (v["Type"], v.get("Default")) for k, v in sam.get("Parameters", {}).items()}
    pc = {k: (v["Type"], v.get("Default")) for k, v in cdk.get("Parameters", {}).items() if k != "BootstrapVersion"}
    r.check("same parameters (type, default)", ps == pc, diff(ps, pc))
    os_ = {k: canon(v["Value"]) for k, v in sam.get("Outputs", {}).items()}
    oc = {k: canon(v["Value"]) for k, v in cdk.get("Outputs", {}).items()}
    r.check("same outputs (value)", os_ == oc, diff(os_, oc))
    r.check("ApiUrl output is https://${Api}.execute-api.${AWS::Region}.amazonaws.com/Prod/",
            os_.get("ApiUrl") == "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/Prod/", os_.get("ApiUrl"))

    # 7. What AWS requires of the serverless home.
    for name, tpl in (("SAM", sam_res), ("CDK", cdk_res)):
        aws_rules(name, tpl, r)
        ops_rules(name, tpl, r)

    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
