"""Security guardrails on the resource graph: hardened GPU nodes, restricted cluster endpoints, protected
model storage, no privileged workloads or plaintext secrets outside the system namespaces.

Each check is a pure ``(graph, config) -> [(urn, message)]`` and says what is wrong and what would be right.

Known limitation of ``workload-storage-scoped`` on GCS: listing objects checks ``storage.objects.list`` on the
bucket itself, not on the objects, so an IAM condition on the object prefix cannot scope it. A team granted its
``objects/teams/<team>/`` prefix (with the bucket alternative the platform adds for listing) can therefore list
the names of other teams' objects; reading, writing or deleting them is still refused by the condition. On AWS,
listing is scoped with an ``s3:prefix`` condition, and the policy requires it. The policy does not refuse the
platform's own Workload Identity grants for this: GCS offers no prefix-scoped listing to require instead.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import EnforcementLevel

from .graph import UNKNOWN, Graph, Node, get, short
from .resource_types import EKS_CLUSTER, GKE_CLUSTER, GKE_NODE_POOL
from .stack_policy import Finding, stack_policy
from .workloads import containers, pod_specs

ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
S3_BUCKET = "aws:s3/bucket:Bucket"
GCS_BUCKET = "gcp:storage/bucket:Bucket"


# ---------------------------------------------------------------- GPU nodes


def check_nodes(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for template in graph.of_type(LAUNCH_TEMPLATE):
        tokens = get(template.props, "metadataOptions", "httpTokens")
        hops = get(template.props, "metadataOptions", "httpPutResponseHopLimit")
        if tokens != "required" or (isinstance(hops, int | float) and hops > 1):
            findings.append(
                (
                    template.urn,
                    f"launch template {short(template.urn)} lets pods reach the instance metadata (and the node role's "
                    f"credentials): httpTokens {tokens!r}, hop limit {hops!r}; required: httpTokens required, hop limit 1",
                )
            )
    for node_class in graph.of_type(EC2_NODE_CLASS):
        tokens = get(node_class.props, "spec", "metadataOptions", "httpTokens")
        if tokens not in (None, "required"):  # Karpenter's default is required
            findings.append(
                (
                    node_class.urn,
                    f"EC2NodeClass {short(node_class.urn)}: metadataOptions.httpTokens {tokens!r}; required",
                )
            )
    for pool in graph.of_type(GKE_NODE_POOL):
        shielded = get(pool.props, "nodeConfig", "shieldedInstanceConfig") or {}
        metadata = get(pool.props, "nodeConfig", "workloadMetadataConfig", "mode")
        if not (shielded.get("enableSecureBoot") and shielded.get("enableIntegrityMonitoring")):
            findings.append(
                (pool.urn, f"node pool {short(pool.urn)}: shielded nodes need secure boot and integrity monitoring on")
            )
        if metadata != "GKE_METADATA":
            findings.append(
                (
                    pool.urn,
                    f"node pool {short(pool.urn)}: workloadMetadataConfig.mode {metadata!r} exposes the node's service "
                    "account to pods; required: GKE_METADATA (Workload Identity)",
                )
            )
    return findings


# ---------------------------------------------------------------- cluster endpoints


def _eks_open(cluster: Node) -> list[str]:
    vpc = get(cluster.props, "vpcConfig") or {}
    if vpc.get("endpointPublicAccess") is False:
        return []
    return sorted(set(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]) & ANYWHERE)  # EKS's default is anywhere


def _gke_open(cluster: Node) -> list[str]:
    if get(cluster.props, "privateClusterConfig", "enablePrivateEndpoint"):
        return []
    blocks = get(cluster.props, "masterAuthorizedNetworksConfig", "cidrBlocks")
    if blocks is None:
        return ["0.0.0.0/0"]  # no authorized networks: any address
    return sorted({str(get(b, "cidrBlock")) for b in blocks} & ANYWHERE)


ENDPOINTS = {EKS_CLUSTER: _eks_open, GKE_CLUSTER: _gke_open}


def check_endpoints(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    return [
        (
            cluster.urn,
            f"cluster {short(cluster.urn)}'s API endpoint is open to {', '.join(open_to)}; list the addresses that run "
            "`pulumi up` and kubectl (cluster.publicEndpointCidrs: your /32, your CI runners' egress), or make it "
            "private (cluster.privateEndpointOnly)",
        )
        for cluster in graph.of_type(*ENDPOINTS)
        if (open_to := ENDPOINTS[cluster.type](cluster))
    ]


# ---------------------------------------------------------------- model and checkpoint storage


def _companions(graph: Graph, bucket: str) -> dict[str, Node]:
    """The S3 bucket's configuration resources (versioning, encryption, public access block), by type."""
    return {n.type: n for n in graph.nodes if n.type.startswith("aws:s3/") and get(n.props, "bucket") == bucket}


def _s3_problems(graph: Graph, node: Node) -> Iterator[str]:
    parts = _companions(graph, str(get(node.props, "bucket")))
    versioning = parts.get("aws:s3/bucketVersioning:BucketVersioning")
    if get(versioning.props if versioning else {}, "versioningConfiguration", "status") != "Enabled":
        yield "versioning is not enabled (a BucketVersioning with status Enabled)"
    if "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration" not in parts:
        yield "no default encryption (a BucketServerSideEncryptionConfiguration)"
    block = parts.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if block is None or not all(get(block.props, f) is True for f in flags):
        yield f"public access is not blocked (a BucketPublicAccessBlock with {', '.join(flags)} true)"


def _gcs_problems(graph: Graph, node: Node) -> Iterator[str]:
    if get(node.props, "versioning", "enabled") is not True:
        yield "versioning is not enabled"
    if get(node.props, "publicAccessPrevention") != "enforced":
        yield "publicAccessPrevention is not enforced"
    if get(node.props, "uniformBucketLevelAccess") is not True:
        yield "uniform bucket-level access is off (object ACLs could open objects)"


BUCKETS = {S3_BUCKET: _s3_problems, GCS_BUCKET: _gcs_problems}


def check_storage(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for bucket in graph.of_type(*BUCKETS):
        problems = list(BUCKETS[bucket.type](graph, bucket))
        if not bucket.protect:
            problems.append("it is not protected (protect=True): a `pulumi destroy` would delete the models")
        if get(bucket.props, "forceDestroy"):
            problems.append("forceDestroy is on: deleting it would delete every object")
        findings += [(bucket.urn, f"bucket {short(bucket.urn)}: {p}") for p in problems]
    return findings


# ---------------------------------------------------------------- workloads

SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)$", re.IGNORECASE)
SYSTEM_NAMESPACES = ["kube-system", "gpu-operator"]
# Custom workloads: where their containers are (the core kinds come from policies.workloads).
CUSTOM_CONTAINERS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": (("spec", "predictor", "model"),),
    "kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob": (("spec", "trainer"),),
}


def _containers(node: Node) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]]:
    """(where, container, pod spec or None) of a workload."""
    for path, pod in pod_specs(node.type, node.props):
        for where, container in containers(pod):
            yield f"{path}.{where}", container, pod
    for steps in CUSTOM_CONTAINERS.get(node.type, ()):
        container = get(node.props, *steps)
        if isinstance(container, Mapping):
            yield ".".join(steps), container, None


def check_workloads(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    system = set(config.get("systemNamespaces") or SYSTEM_NAMESPACES)
    findings: list[Finding] = []
    for node in graph.nodes:
        namespace = get(node.props, "metadata", "namespace")
        for where, container, pod in _containers(node):
            for env in get(container, "env") or []:
                name = str(get(env, "name") or "")
                if SECRET_NAME.search(name) and get(env, "value") not in (None, ""):
                    findings.append(
                        (
                            node.urn,
                            f"{short(node.urn)} {where}: {name} is a plaintext value in the manifest (and the state); "
                            "take it from a Secret (valueFrom.secretKeyRef), set from a Pulumi secret",
                        )
                    )
            if namespace in system:
                continue
            if get(container, "securityContext", "privileged") is True:
                findings.append(
                    (
                        node.urn,
                        f"{short(node.urn)} {where} is privileged outside the system namespaces ({', '.join(sorted(system))})",
                    )
                )
            host_paths = [str(get(v, "name")) for v in (get(pod, "volumes") or []) if get(v, "hostPath") is not None]
            if host_paths:
                findings.append(
                    (
                        node.urn,
                        f"{short(node.urn)} mounts host paths ({', '.join(host_paths)}) outside the system namespaces",
                    )
                )
    return findings


# ---------------------------------------------------------------- workload storage scope
#
# Every team's checkpoints live under ``teams/<team>/`` of one bucket. The cloud identities a team's Kubernetes
# service accounts can become (IRSA roles, Workload Identity service accounts) must reach that prefix only: a
# grant wider than it, or on another team's prefix, hands one team every other team's models.

NAMESPACE = "kubernetes:core/v1:Namespace"
TEAM_LABEL = "gpu-platform.io/team"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
# Attachment type -> the input naming the role(s).
IAM_ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role",
    "aws:iam/policyAttachment:PolicyAttachment": "roles",
}
EKS_POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
GCP_ACCOUNT = "gcp:serviceaccount/account:Account"
GCP_ACCOUNT_IAM = ("gcp:serviceaccount/iAMMember:IAMMember", "gcp:serviceaccount/iAMBinding:IAMBinding")
GCS_BUCKET_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
GCP_PROJECT_IAM = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding")
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
# AWS managed policies that grant S3 on every bucket of the account (ReadOnlyAccess: s3:Get*, s3:List* on "*").
S3_MANAGED_POLICY = re.compile(r"AmazonS3|/AdministratorAccess$|/PowerUserAccess$|/ReadOnlyAccess$", re.IGNORECASE)
# Bucket-level S3 actions that carry no object data: allowed on the bucket ARN without a condition (SDKs such as
# boto3 and s5cmd call GetBucketLocation to find the bucket's region).
S3_BUCKET_METADATA = frozenset({"s3:getbucketlocation"})
# Bucket-level S3 actions that list keys: allowed on the bucket ARN only with an s3:prefix condition on the team's
# prefix.
S3_LISTING = frozenset({"s3:listbucket", "s3:listbucketversions", "s3:listbucketmultipartuploads"})
SA_SUBJECT = re.compile(r"^system:serviceaccount:([^:]+):(.+)$")
WORKLOAD_IDENTITY_MEMBERS = (
    re.compile(r"^serviceAccount:[^\[]+\.svc\.id\.goog\[(?P<ns>[^/\]]+)/(?P<sa>[^\]]+)\]$"),
    re.compile(r"^principal://iam\.googleapis\.com/.+\.svc\.id\.goog/subject/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$"),
    re.compile(r"^principalSet://iam\.googleapis\.com/.+\.svc\.id\.goog/namespace/(?P<ns>[^/]+)$"),
)
OTHER_PREFIX = re.compile(r"teams/([^/*?]+)/")
GCS_TEAM_OBJECTS = re.compile(r"objects/teams/([^/*?\"]+)/")
# Project-level roles that reach every bucket of the project: the storage roles and the basic roles (owner and
# editor include storage.objects.*, viewer storage.objects.get and list).
GCP_PROJECT_STORAGE_ROLE = re.compile(r"^roles/(storage\.|owner$|editor$|viewer$)")

Tenants = dict[str, list[str]]
"""Team -> the ``namespace/serviceaccount`` subjects of that team that can act as an identity."""


def _strings(value: Any) -> list[str]:
    """A string-or-list IAM field as its known strings (unknown items are left out)."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, str) and v != UNKNOWN]


def _document(value: Any) -> Mapping[str, Any] | None:
    """A policy document, given as JSON text or as a mapping; None when unknown or unreadable."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or value == UNKNOWN:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def _statements(document: Mapping[str, Any] | None) -> list[tuple[str, Mapping[str, Any]]]:
    """(sid or #index, statement) of a policy document's Allow statements."""
    if document is None:
        return []
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw]
    return [
        (str(s.get("Sid") or f"#{i}"), s)
        for i, s in enumerate(statements)
        if isinstance(s, Mapping) and s.get("Effect") == "Allow"
    ]


def _team_namespaces(graph: Graph) -> dict[str, str]:
    """Namespace name -> team, for the namespaces labelled with a team."""
    out: dict[str, str] = {}
    for node in graph.of_type(NAMESPACE):
        name = get(node.props, "metadata", "name")
        team = get(node.props, "metadata", "labels", TEAM_LABEL)
        if isinstance(name, str) and isinstance(team, str) and team:
            out[name] = team
    return out


def _add(tenants: dict[str, Tenants], urn: str, teams: Mapping[str, str], namespace: str, sa: str, like: bool) -> None:
    for name, team in teams.items():
        if fnmatchcase(name, namespace) if like else name == namespace:
            subjects = tenants.setdefault(urn, {}).setdefault(team, [])
            if f"{name}/{sa}" not in subjects:
                subjects.append(f"{name}/{sa}")


def _targets(graph: Graph, node: Node, key: str, type_: str, by_name: Mapping[str, str]) -> list[str]:
    """URNs of the ``type_`` resources a reference input names: through its property dependencies, or for a
    literal value, by the name (or email) the referenced resource was given, the last part of an ARN or of a
    ``projects/<project>/serviceAccounts/<email>`` path."""
    urns = [u for u in node.property_dependencies.get(key, ()) if (t := graph.by_urn.get(u)) and t.type == type_]
    for value in _strings(node.props.get(key)):
        urn = by_name.get(value.rsplit("/", 1)[-1])
        if urn is not None and urn not in urns:
            urns.append(urn)
    return urns


def _aws_tenants(graph: Graph, teams: Mapping[str, str]) -> dict[str, Tenants]:
    """Role URN -> the team service accounts that can assume it (IRSA trust, EKS Pod Identity).

    Only a ``...:sub`` condition names a service account. A trust whose web-identity statement has no ``:sub``
    condition (only ``:aud``) cannot be tied to a namespace, so the role is no team's and is not in scope here;
    note that such a trust lets every service account of the cluster assume the role."""
    tenants: dict[str, Tenants] = {}
    for role in graph.of_type(IAM_ROLE):
        for _, statement in _statements(_document(get(role.props, "assumeRolePolicy"))):
            condition = statement.get("Condition")
            for operator, keys in (condition or {}).items() if isinstance(condition, Mapping) else ():
                op = str(operator).lower()
                if not isinstance(keys, Mapping) or not op.startswith("string") or op.startswith("stringnot"):
                    continue
                for key, values in keys.items():
                    if str(key).endswith(":sub"):
                        for value in _strings(values):
                            if match := SA_SUBJECT.match(value):
                                _add(tenants, role.urn, teams, match[1], match[2], "like" in op)
    names = {n: r.urn for r in graph.of_type(IAM_ROLE) if isinstance(n := get(r.props, "name"), str)}
    for association in graph.of_type(EKS_POD_IDENTITY):
        namespace, sa = get(association.props, "namespace"), get(association.props, "serviceAccount")
        if isinstance(namespace, str) and isinstance(sa, str):
            for urn in _targets(graph, association, "roleArn", IAM_ROLE, names):
                _add(tenants, urn, teams, namespace, sa, like=False)
    return tenants


def _who(kind: str, urn: str, team: str, subjects: list[str]) -> str:
    verb = "assumed by" if kind == "role" else "bound to"
    return f"{kind} {short(urn)} ({verb} {', '.join(subjects)}, team {team})"


def _s3_actions(statement: Mapping[str, Any]) -> list[str]:
    """The statement's actions that reach S3 (``s3:...``, ``s3:*``, ``*``; an Allow NotAction reaches S3 unless
    it leaves S3 out)."""
    if "NotAction" in statement and "Action" not in statement:
        excluded = [a.lower() for a in _strings(statement.get("NotAction"))]
        return [] if any(a in ("*", "s3:*") for a in excluded) else [f"every action but {', '.join(excluded)}"]
    return [a for a in _strings(statement.get("Action")) if a == "*" or fnmatchcase("s3", a.split(":", 1)[0].lower())]


def _prefix_values(statement: Mapping[str, Any]) -> list[str] | None:
    """The ``s3:prefix`` values a StringLike/StringEquals condition requires; None when unknown. An
    ``...IfExists`` operator does not count: a request without a prefix would pass it."""
    condition = statement.get("Condition")
    if condition == UNKNOWN:
        return None
    values: list[str] = []
    for operator, keys in (condition or {}).items() if isinstance(condition, Mapping) else ():
        if str(operator).lower() in ("stringlike", "stringequals") and isinstance(keys, Mapping):
            for key, value in keys.items():
                if str(key).lower() == "s3:prefix":
                    if value == UNKNOWN or (isinstance(value, list) and UNKNOWN in value):
                        return None
                    values += _strings(value)
    return values


def _other_team(key: str, team: str) -> str | None:
    """The other team whose ``teams/<other>/`` prefix an S3 key (or key prefix) starts with, if any."""
    match = OTHER_PREFIX.match(key)
    return match[1] if match and match[1] != team else None


def _s3_statement_problems(sid: str, statement: Mapping[str, Any], team: str) -> Iterator[str]:
    actions = _s3_actions(statement)
    if not actions:
        return
    acts = ", ".join(actions)
    own = f"teams/{team}/"
    right = f"arn:<partition>:s3:::<bucket>/{own}*"
    if "NotResource" in statement and "Resource" not in statement:
        yield f"statement {sid} grants {acts} on NotResource (every resource but those): every bucket; name {right}"
        return
    for resource in _strings(statement.get("Resource")):
        parts = resource.split(":", 5)
        if resource == "*" or (len(parts) < 6 and "*" in resource):
            yield f'statement {sid} grants {acts} on Resource "{resource}": every bucket of the account; name {right}'
            continue
        if len(parts) < 6 or not fnmatchcase("s3", parts[2].lower()):
            continue  # another service's resource: no S3 access
        bucket, slash, key = parts[5].partition("/")
        if parts[2] != "s3" or parts[3] or parts[4] or not bucket:
            yield f"statement {sid} grants {acts} on {resource}, not an object of a bucket; name {right}"
        elif "${" in bucket or ("${" in key and not key.startswith(own)):  # after teams/<team>/ it only narrows
            literal = right if "${" in bucket else f"arn:{parts[1]}:s3:::{bucket}/{own}*"
            yield (
                f"statement {sid} grants {acts} on {resource}: an IAM policy variable (${{...}}) cannot be checked "
                f"statically; write team {team}'s literal prefix: {literal}"
            )
        elif "*" in bucket or "?" in bucket:
            yield f"statement {sid} grants {acts} on {resource}: bucket pattern {bucket!r} reaches other buckets; name {right}"
        elif not slash:
            yield from _bucket_level(sid, statement, actions, resource, team)
        elif other := _other_team(key, team):
            yield (
                f"statement {sid} grants {acts} on {resource}, under team {other}'s prefix teams/{other}/, not "
                f"team {team}'s; only arn:{parts[1]}:s3:::{bucket}/{own}* is right"
            )
        elif not key.startswith(own):
            yield (
                f"statement {sid} grants {acts} on {resource}, beyond team {team}'s prefix {own}; "
                f"scope it to arn:{parts[1]}:s3:::{bucket}/{own}*"
            )


def _bucket_level(
    sid: str, statement: Mapping[str, Any], actions: list[str], resource: str, team: str
) -> Iterator[str]:
    """Problems of a statement naming the bucket ARN itself: s3:GetBucketLocation (no object data) may, and the
    listing actions with an ``s3:prefix`` condition on the team's prefix; any other action may not."""
    own = f"teams/{team}/"
    listing = f'Condition StringLike s3:prefix ["{own}*"]'
    lists = [a for a in actions if a.lower() not in S3_BUCKET_METADATA]
    if any(a.lower() not in S3_LISTING for a in lists):
        yield (
            f"statement {sid} grants {', '.join(actions)} on the bucket itself ({resource}); only "
            f"s3:GetBucketLocation, and s3:ListBucket, s3:ListBucketVersions, s3:ListBucketMultipartUploads with "
            f"{listing}, may name the bucket; objects are {resource}/{own}*"
        )
        return
    if not lists:
        return  # only bucket metadata: no object data
    acts = ", ".join(lists)
    prefixes = _prefix_values(statement)
    if prefixes is None:
        return  # unknown condition: nothing to say
    if not prefixes:
        yield f"statement {sid} grants {acts} on {resource} without an s3:prefix condition: it lists every team's keys; add {listing}"
    for prefix in prefixes:
        if "${" in prefix and not prefix.startswith(own):
            yield (
                f"statement {sid} lets {acts} on {resource} list {prefix!r}: an IAM policy variable (${{...}}) "
                f"cannot be checked statically; write team {team}'s literal prefix: {listing}"
            )
        elif other := _other_team(prefix, team):
            yield (
                f"statement {sid} lets {acts} on {resource} list {prefix!r}, team {other}'s prefix, not team "
                f"{team}'s; required: {listing}"
            )
        elif not prefix.startswith(own):
            yield f"statement {sid} lets {acts} on {resource} list {prefix!r}, beyond {own}; required: {listing}"


def _document_findings(urn: str, what: str, document: Any, who: str, team: str) -> list[Finding]:
    return [
        (urn, f"{who}: {what} {problem}")
        for sid, statement in _statements(_document(document))
        for problem in _s3_statement_problems(sid, statement, team)
    ]


def _check_aws(graph: Graph, teams: Mapping[str, str]) -> list[Finding]:
    tenants = _aws_tenants(graph, teams)
    findings: list[Finding] = []
    names = {n: r.urn for r in graph.of_type(IAM_ROLE) if isinstance(n := get(r.props, "name"), str)}
    managed: dict[str, list[tuple[Node, str]]] = defaultdict(list)  # role URN -> (resource, policy ARN)
    for role_urn in tenants:
        role = graph.by_urn[role_urn]
        for arn in _strings(get(role.props, "managedPolicyArns")):
            managed[role_urn].append((role, arn))
        for policy in get(role.props, "inlinePolicies") or []:
            name = get(policy, "name")
            for team, subjects in tenants[role_urn].items():
                who = _who("role", role_urn, team, subjects)
                findings += _document_findings(role_urn, f"inline policy {name}", get(policy, "policy"), who, team)
    for node in graph.of_type(IAM_ROLE_POLICY):
        for role_urn in _targets(graph, node, "role", IAM_ROLE, names):
            for team, subjects in tenants.get(role_urn, {}).items():
                who = _who("role", role_urn, team, subjects)
                what = f"inline policy {short(node.urn)}"
                findings += _document_findings(node.urn, what, get(node.props, "policy"), who, team)
    for node in graph.of_type(*IAM_ATTACHMENTS):
        for role_urn in _targets(graph, node, IAM_ATTACHMENTS[node.type], IAM_ROLE, names):
            if role_urn not in tenants:
                continue
            for arn in _strings(get(node.props, "policyArn")):
                managed[role_urn].append((node, arn))
            for policy_urn in _targets(graph, node, "policyArn", IAM_POLICY, {}):
                for team, subjects in tenants[role_urn].items():
                    who = _who("role", role_urn, team, subjects)
                    document = get(graph.by_urn[policy_urn].props, "policy")
                    findings += _document_findings(node.urn, f"policy {short(policy_urn)}", document, who, team)
    for role_urn, grants in managed.items():
        for node, arn in grants:
            if S3_MANAGED_POLICY.search(arn):
                for team, subjects in tenants[role_urn].items():
                    findings.append(
                        (
                            node.urn,
                            f"{_who('role', role_urn, team, subjects)}: managed policy {arn} grants S3 on every bucket "
                            f"of the account; grant an inline policy on arn:<partition>:s3:::<bucket>/teams/{team}/* "
                            "instead",
                        )
                    )
    return findings


def _gcp_tenants(graph: Graph, teams: Mapping[str, str], emails: Mapping[str, str]) -> dict[str, Tenants]:
    """Account URN -> the team service accounts Workload Identity lets act as it."""
    tenants: dict[str, Tenants] = {}
    for node in graph.of_type(*GCP_ACCOUNT_IAM):
        if get(node.props, "role") != WORKLOAD_IDENTITY_USER:
            continue
        accounts = _targets(graph, node, "serviceAccountId", GCP_ACCOUNT, emails)
        for member in _strings(get(node.props, "member")) + _strings(get(node.props, "members")):
            for pattern in WORKLOAD_IDENTITY_MEMBERS:
                if match := pattern.match(member):
                    for urn in accounts:
                        _add(tenants, urn, teams, match["ns"], match.groupdict().get("sa") or "*", like=False)
    return tenants


def _check_gcp(graph: Graph, teams: Mapping[str, str]) -> list[Finding]:
    emails = {
        f"{account_id}@{project}.iam.gserviceaccount.com": node.urn
        for node in graph.of_type(GCP_ACCOUNT)
        if isinstance(account_id := get(node.props, "accountId"), str)
        and isinstance(project := get(node.props, "project"), str)
    }
    tenants = _gcp_tenants(graph, teams, emails)
    by_member = {f"serviceAccount:{email}": urn for email, urn in emails.items()}
    findings: list[Finding] = []
    for node in graph.of_type(*GCS_BUCKET_IAM, *GCP_PROJECT_IAM):
        key = "members" if node.type.endswith("Binding") else "member"
        role = get(node.props, "role") or "its role"
        for account in dict.fromkeys(_targets(graph, node, key, GCP_ACCOUNT, by_member)):
            for team, subjects in tenants.get(account, {}).items():
                who = _who("service account", account, team, subjects)
                problem = (
                    _project_problem(node, role, team)
                    if node.type in GCP_PROJECT_IAM
                    else _bucket_problem(node, role, team)
                )
                if problem:
                    findings.append((node.urn, f"{who}: {short(node.urn)} {problem}"))
    return findings


def _project_problem(node: Node, role: str, team: str) -> str | None:
    if not GCP_PROJECT_STORAGE_ROLE.match(role):
        return None
    project = get(node.props, "project") or "the project"
    if not role.startswith("roles/storage."):
        return (
            f"grants the basic role {role} on project {project}: it includes storage access to every bucket of the "
            f"project, every team's objects; grant a storage role on the bucket with a condition under "
            f"objects/teams/{team}/ instead"
        )
    return (
        f"grants {role} on project {project}: every bucket of the project, every team's objects; grant it on the "
        f"bucket with a condition under objects/teams/{team}/ instead"
    )


def _bucket_problem(node: Node, role: str, team: str) -> str | None:
    condition = node.props.get("condition")
    expression = condition.get("expression") if isinstance(condition, Mapping) else None
    if UNKNOWN in (condition, expression):
        return None  # only the cloud knows yet: nothing to say
    bucket = get(node.props, "bucket") or "<bucket>"
    right = f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/teams/{team}/")'
    if not isinstance(expression, str) or not expression:
        return f"grants {role} on bucket {bucket} without a condition: every team's objects; add the condition {right}"
    others = sorted({t for t in GCS_TEAM_OBJECTS.findall(expression) if t != team})
    if others:
        theirs = ", ".join(f"team {o}'s prefix objects/teams/{o}/" for o in others)
        return f"grants {role} on bucket {bucket} under {theirs}, not team {team}'s; the condition must be {right}"
    if f"objects/teams/{team}/" not in expression:
        return (
            f"grants {role} on bucket {bucket} with a condition not limited to team {team}'s objects/teams/{team}/ "
            f"({expression}); required: {right}"
        )
    if "||" in expression:
        name = re.escape(bucket) if isinstance(get(node.props, "bucket"), str) else r"[^/\"']+"
        listing = (
            f'(resource.type == "storage.googleapis.com/Bucket" && resource.name == "projects/_/buckets/{bucket}")'
        )
        for alternative in _split_cel(expression, "||") or [expression]:
            if not _allowed_alternative(alternative, name, team):
                return (
                    f"grants {role} on bucket {bucket} with a condition that ORs (||) in {alternative!r}: an OR can "
                    f"widen it beyond team {team}'s objects/teams/{team}/; the only alternatives allowed are {right} "
                    f"and, for listing, {listing}"
                )
    return None


def _split_cel(text: str, operator: str) -> list[str] | None:
    """``text`` (CEL) split at ``operator`` outside parentheses and string literals, each part stripped and
    without parentheses enclosing all of it; None when its parentheses or quotes do not balance."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1  # an escaped character
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth < 0:
                return None
        elif depth == 0 and text.startswith(operator, i):
            parts.append(text[start:i])
            start = i = i + len(operator)
            continue
        i += 1
    if depth or quote:
        return None
    out = []
    for part in [*parts, text[start:]]:
        part = part.strip()
        while part.startswith("(") and part.endswith(")") and _split_cel(part[1:-1], operator) is not None:
            part = part[1:-1].strip()
        out.append(part)
    if len(out) == 1 and out[0] != text.strip():
        return _split_cel(out[0], operator)  # (a || b): parentheses around all of it
    return out


def _allowed_alternative(term: str, bucket: str, team: str) -> bool:
    """Whether an alternative of a GCS condition is the team's objects,
    ``resource.name.startsWith("projects/_/buckets/<bucket>/objects/teams/<team>/...")``, or the bucket itself
    (where GCS checks listing) and no object: ``resource.type == "storage.googleapis.com/Bucket" &&
    resource.name == "projects/_/buckets/<bucket>"``."""
    objects = rf"resource\.name\.startsWith\(\s*([\"'])projects/_/buckets/{bucket}/objects/teams/{re.escape(team)}/[^\"'\\]*\1\s*\)"
    if re.fullmatch(objects, term):
        return True
    kind = r"resource\.type\s*==\s*([\"'])storage\.googleapis\.com/Bucket\1"
    name = rf"resource\.name\s*==\s*([\"'])projects/_/buckets/{bucket}\1"
    both = _split_cel(term, "&&") or []
    return len(both) == 2 and any(
        re.fullmatch(kind, a) is not None and re.fullmatch(name, b) is not None for a, b in (both, both[::-1])
    )


def check_storage_scope(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    teams = _team_namespaces(graph)
    if not teams:
        return []
    return list(dict.fromkeys(_check_aws(graph, teams) + _check_gcp(graph, teams)))


WORKLOAD_CONFIG = {
    "systemNamespaces": {
        "type": "array",
        "items": {"type": "string"},
        "default": SYSTEM_NAMESPACES,
        "description": "Namespaces where privileged containers and host paths are allowed (the GPU software's).",
    }
}

POLICIES = [
    stack_policy(
        "gpu-nodes-hardened",
        "GPU nodes: IMDSv2 with hop limit 1 (AWS); shielded nodes and Workload Identity metadata (GKE).",
        check_nodes,
    ),
    # Advisory by default: development clusters often open the endpoint (IAM- or Google-authenticated) to reach it
    # from anywhere; production policy groups set it mandatory.
    stack_policy(
        "cluster-endpoint-restricted",
        "The cluster's API endpoint is private or open only to an allowlist, never to any address.",
        check_endpoints,
        level=EnforcementLevel.ADVISORY,
    ),
    stack_policy(
        "storage-protected",
        "Model and checkpoint buckets: versioned, encrypted, never public, protected from deletion.",
        check_storage,
    ),
    stack_policy(
        "workloads-least-privilege",
        "No plaintext secrets in env; no privileged containers or host paths outside the system namespaces.",
        check_workloads,
        WORKLOAD_CONFIG,
        EnforcementLevel.MANDATORY,
    ),
    stack_policy(
        "workload-storage-scoped",
        "Service accounts of workloads are bound only to their own storage: the IRSA roles and Workload Identity "
        "service accounts of a team's namespace reach its teams/<team>/ prefix, never the whole bucket, the "
        "account's or project's buckets, or another team's prefix.",
        check_storage_scope,
    ),
]
