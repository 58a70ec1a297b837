"""physical-names: names the clouds and Kubernetes will accept, each used once.

Every rule here is an API's own (EKS user guide, GCP resource-name rules,
Kubernetes object-name rules, Helm's release-name limit); the mock engine
checks none of them, and a second object with the same name silently
overwrites the first or fails at apply time.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..graph import Graph, Node, get, short
from ..stack_policy import Finding, stack_policy
from .common import EKS_CLUSTER, EKS_NODE_GROUP, GKE_CLUSTER, GKE_NODE_POOL, group_of, kind_of

NAME = "physical-names"
AUTONAME_SUFFIX = 8
"""Pulumi auto-names a resource ``<logical name>-<7 hex>``."""

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
RFC1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# Kinds whose names must be DNS labels (they become DNS names or label values).
LABEL_KINDS = frozenset({"Namespace", "Service"})
# Kinds that are not objects of their own (a patch names an object that exists).
PATCH_SUFFIX = "Patch"


@dataclass(frozen=True)
class Rule:
    what: str
    field: tuple[str, ...]
    pattern: re.Pattern[str]
    max_length: int
    min_length: int = 1
    scope: tuple[str, ...] = ()
    """Fields whose values (with the name) must be unique together; () for names unique in the stack."""
    autoname: bool = False
    """Pulumi names it from the logical name when the field is unset."""


# Resource type -> its physical-name rule. A table, not an if-chain.
RULES: dict[str, Rule] = {
    EKS_CLUSTER: Rule("EKS cluster name", ("name",), re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]*$"), 100),
    EKS_NODE_GROUP: Rule(
        "EKS node group name",
        ("nodeGroupName",),
        re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]*$"),
        63,
        scope=("clusterName",),
    ),
    "aws:iam/role:Role": Rule("IAM role name", ("name",), re.compile(r"^[\w+=,.@-]+$"), 64, autoname=True),
    "aws:kms/alias:Alias": Rule("KMS alias", ("name",), re.compile(r"^alias/[a-zA-Z0-9/_-]+$"), 256),
    "gcp:serviceaccount/account:Account": Rule(
        "service account id", ("accountId",), re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$"), 30, 6, ("project",)
    ),
    GKE_CLUSTER: Rule("GKE cluster name", ("name",), RFC1035, 40, scope=("project", "location")),
    GKE_NODE_POOL: Rule("GKE node pool name", ("name",), RFC1035, 40, scope=("cluster",)),
    "gcp:compute/firewall:Firewall": Rule("firewall name", ("name",), RFC1035, 63, scope=("project",)),
    "gcp:compute/network:Network": Rule("network name", ("name",), RFC1035, 63, scope=("project",)),
    "kubernetes:helm.sh/v3:Release": Rule(
        "Helm release name", ("name",), DNS_LABEL, 53, scope=("namespace",), autoname=True
    ),
}


def _name_problem(rule: Rule, value: str) -> str | None:
    if not rule.min_length <= len(value) <= rule.max_length:
        return f"is {len(value)} characters; allowed: {rule.min_length}-{rule.max_length}"
    if not rule.pattern.match(value):
        return f"does not match {rule.pattern.pattern}"
    return None


def _kubernetes_rule(node: Node) -> tuple[str, Callable[[str], str | None]] | None:
    kind = kind_of(node)
    if not node.is_kubernetes_object() or group_of(node) is None or kind.endswith(PATCH_SUFFIX):
        return None

    def problem(value: str) -> str | None:
        if kind in LABEL_KINDS:
            return None if len(value) <= 63 and DNS_LABEL.match(value) else "is not a DNS label (63 characters at most)"
        return None if len(value) <= 253 and DNS_SUBDOMAIN.match(value) else "is not a DNS subdomain name"

    return kind, problem


def check(graph: Graph, config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[tuple[str, ...], str] = {}

    def claim(node: Node, key: tuple[str, ...], label: str) -> None:
        if key in seen:
            findings.append((node.urn, f"{label} is also used by {short(seen[key])}; physical names must be unique"))
        else:
            seen[key] = node.urn

    for node in graph.nodes:
        rule = RULES.get(node.type)
        if rule is not None:
            explicit = get(node.props, *rule.field)
            if explicit is None and rule.autoname:
                # Pulumi's auto-name is unique by construction; only its length can break the rule.
                auto = f"{node.name}-{'x' * (AUTONAME_SUFFIX - 1)}"
                if problem := _name_problem(rule, auto):
                    findings.append(
                        (node.urn, f"{rule.what} auto-named from {node.name!r} {problem} (Pulumi appends 8 characters)")
                    )
            elif isinstance(explicit, str):
                if problem := _name_problem(rule, explicit):
                    findings.append((node.urn, f"{rule.what} {explicit!r} {problem}"))
                scope = tuple(str(get(node.props, f) or "") for f in rule.scope)
                claim(node, (node.type, *scope, explicit), f"{rule.what} {explicit!r}")
        kubernetes = _kubernetes_rule(node)
        if kubernetes is not None:
            kind, problem_of = kubernetes
            name = get(node.props, "metadata", "name")
            if isinstance(name, str):
                if problem := problem_of(name):
                    findings.append((node.urn, f"{kind} name {name!r} {problem}"))
                namespace = str(get(node.props, "metadata", "namespace") or "")
                where = f" in namespace {namespace}" if namespace else ""
                claim(node, ("k8s", str(group_of(node)), kind, namespace, name), f"{kind} {name!r}{where}")
    return findings


policy = stack_policy(NAME, "Physical names fit each API's rules and are used once.", check)
