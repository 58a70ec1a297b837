"""infra.plan.validate: strict validation of rendered objects, from the repository and installed packages alone.

The CRD schemas here are tiny ones written for these tests (``widget_schema``), not upstream copies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.plan.validate import (
    KubernetesVersionError,
    SchemaDirError,
    ValidationReport,
    is_core_group,
    validate_manifests,
)

GROUP = "widgets.example.com"
ALLOWED_METADATA = (
    "annotations, creationTimestamp, deletionGracePeriodSeconds, deletionTimestamp, finalizers, generateName, "
    "generation, labels, managedFields, name, namespace, ownerReferences, resourceVersion, selfLink, uid"
)


def namespace(name: str = "team-a", **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"a": "b"}}}
    if spec:
        obj["spec"] = spec
    return obj


def deployment(replicas: Any = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def widget(version: str = "v1", kind: str = "Widget", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": kind,
        "metadata": {"name": "w1", "namespace": "team-a"},
        "spec": {"size": 3, **spec},
    }


def widget_schema() -> dict[str, Any]:
    """A structural schema as CRDs carry them: nested objects list properties but do not close themselves."""
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            # as some CRDs do: a constraint on the name, no other metadata field listed
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}}},
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer", "minimum": 1},
                    "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                    "code": {"type": "string", "pattern": "^(?i)[a-z]+$"},
                    "note": {"type": "string", "nullable": True},
                    "limits": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "default": {"type": "object", "properties": {"on": {"type": "boolean"}}},
                },
            },
        },
    }


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    """``<group>/<kind>_<version>.json``: Widget v1 only."""
    (tmp_path / GROUP).mkdir()
    (tmp_path / GROUP / "widget_v1.json").write_text(json.dumps(widget_schema()))
    return tmp_path


def only(report: ValidationReport) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in report.problems]


# ---------------------------------------------------------------- core objects


def test_valid_core_objects_pass() -> None:
    report = validate_manifests([("00-namespace.yaml", namespace()), ("10-deploy.yaml", deployment())])
    assert report.ok and (report.objects, report.valid, report.invalid, report.not_validated) == (2, 2, 0, 0)
    assert report.validated == 2 and report.problems == () and report.k8s_version == "1.33"


def test_invalid_core_object_is_reported_with_its_file_kind_name_and_field_path() -> None:
    report = validate_manifests([("00-ns.yaml", namespace(finalizer=[])), ("00-ok.yaml", namespace("ok"))])
    assert not report.ok and (report.valid, report.invalid) == (1, 1)
    (problem,) = report.problems
    assert (problem.file, problem.kind, problem.name, problem.path) == (
        "00-ns.yaml",
        "Namespace",
        "team-a",
        "spec.finalizer",
    )
    assert problem.message == "unknown field; allowed: finalizers"
    assert str(problem) == "00-ns.yaml: Namespace/team-a: spec.finalizer: unknown field; allowed: finalizers"
    assert "  - 00-ns.yaml: Namespace/team-a: spec.finalizer" in report.render()


def test_every_problem_of_an_object_is_listed() -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {"tier": 1}
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    del obj["spec"]["selector"]
    report = validate_manifests([("d.yaml", obj)])
    assert report.invalid == 1
    paths = [path for path, _ in only(report)]
    assert paths == [
        "metadata.labels.tier",
        "spec.selector",
        "spec.template.spec.containers[0].ports[0].containerPort",
    ]
    assert only(report)[1] == ("spec.selector", "required field is missing")


def test_integral_floats_in_integer_fields_are_refused() -> None:
    report = validate_manifests([("d.yaml", deployment(replicas=2.0))])
    assert only(report) == [("spec.replicas", "2.0 is not an integer; write 2")]


def test_keys_with_dots_are_quoted_in_paths() -> None:
    obj = namespace()
    obj["metadata"]["labels"]["gpu-platform.io/team"] = 7
    assert only(validate_manifests([("n.yaml", obj)]))[0][0] == 'metadata.labels["gpu-platform.io/team"]'


def test_a_kind_a_built_in_group_does_not_serve_is_invalid() -> None:
    obj = deployment()
    obj["apiVersion"] = "apps/v1beta1"  # removed in Kubernetes 1.16
    assert only(validate_manifests([("d.yaml", obj)])) == [
        ("kind", "Kubernetes 1.33 serves no Deployment in apps/v1beta1")
    ]


def test_metadata_name_is_required() -> None:
    obj = namespace()
    del obj["metadata"]["name"]
    report = validate_manifests([("n.yaml", obj)])
    assert ("metadata.name", "required field is missing") in only(report)


@pytest.mark.parametrize("version", ["1.25", "v1.37.1", "1.33.0"])
def test_supported_kubernetes_versions(version: str) -> None:
    assert validate_manifests([("n.yaml", namespace())], k8s_version=version).ok


@pytest.mark.parametrize("version", ["1.24", "1.99", "latest"])
def test_unsupported_kubernetes_versions_are_refused(version: str) -> None:
    with pytest.raises(KubernetesVersionError):
        validate_manifests([("n.yaml", namespace())], k8s_version=version)


@pytest.mark.parametrize(
    ("api_version", "core"),
    [
        ("v1", True),
        ("apps/v1", True),
        ("rbac.authorization.k8s.io/v1", True),
        ("kueue.x-k8s.io/v1beta2", False),
        ("karpenter.sh/v1", False),
        ("serving.kserve.io/v1beta1", False),
    ],
)
def test_core_groups(api_version: str, core: bool) -> None:
    assert is_core_group(api_version) is core


# ---------------------------------------------------------------- custom resources


def test_custom_resource_without_schema_dir_is_not_validated() -> None:
    report = validate_manifests([("w.yaml", widget(size=0, bogus=True)), ("n.yaml", namespace())])
    assert report.ok and (report.valid, report.invalid, report.not_validated) == (1, 0, 1)
    (unvalidated,) = report.unvalidated
    assert (unvalidated.file, unvalidated.kind, unvalidated.name) == ("w.yaml", "Widget", "w1")
    assert unvalidated.reason == "custom resource and no CRD schema directory"
    assert f"not validated (no schema): {GROUP}/v1 Widget" in report.render()


def test_custom_resource_metadata_is_checked_even_without_a_schema() -> None:
    obj = widget()
    obj["metadata"]["lables"] = {"a": "b"}
    report = validate_manifests([("w.yaml", obj)])
    assert report.invalid == 1 and only(report)[0][0] == "metadata.lables"


def test_valid_custom_resource_passes_against_its_schema(schema_dir: Path) -> None:
    obj = widget(code="AbC", note=None, limits={"gpu": 2}, extra={"anything": {"goes": 1.5}}, default={"on": True})
    report = validate_manifests([("w.yaml", obj)], schema_dir)
    assert report.ok and report.valid == 1, report.render()
    assert report.schema_dir == str(schema_dir)


def test_invalid_custom_resource_is_reported_against_its_schema(schema_dir: Path) -> None:
    obj = widget(size=0, colour="red", limits={"gpu": "two"}, default={"of": True}, tags=["a", "b", "c"])
    del obj["spec"]["size"]
    obj["spec"]["color"] = "green"
    report = validate_manifests([("w.yaml", obj)], schema_dir)
    assert not report.ok and report.invalid == 1
    assert only(report) == [
        ("spec.color", "'green' is not one of ['red', 'blue']"),
        ("spec.colour", "unknown field; allowed: code, color, default, extra, limits, note, size, tags"),
        ("spec.default.of", "unknown field; allowed: on"),
        ("spec.limits.gpu", "'two' is not of type 'integer'"),
        ("spec.size", "required field is missing"),
        ("spec.tags", "3 items; at most 2 allowed"),
    ]
    assert {(p.file, p.kind, p.name) for p in report.problems} == {("w.yaml", "Widget", "w1")}


def test_metadata_is_object_meta_with_the_crds_own_constraints(schema_dir: Path) -> None:
    obj = widget()
    obj["metadata"]["labels"] = {"team": "a"}  # not listed in the CRD's metadata schema: still fine
    assert validate_manifests([("w.yaml", obj)], schema_dir).ok
    obj["metadata"]["name"] = "much-too-long"
    obj["metadata"]["lables"] = {"team": "a"}
    assert only(validate_manifests([("w.yaml", obj)], schema_dir)) == [
        ("metadata.lables", "unknown field; allowed: " + ALLOWED_METADATA),
        ("metadata.name", "13 characters; at most 8 allowed"),
    ]


def test_defaults_are_filled_and_null_dropped_before_validation(schema_dir: Path) -> None:
    # color: null is dropped (not nullable), then defaulted to red, which the enum accepts
    report = validate_manifests([("w.yaml", widget(color=None, size=2.0))], schema_dir)
    assert only(report) == [("spec.size", "2.0 is not an integer; write 2")]


def test_custom_resource_versions_and_kinds(schema_dir: Path) -> None:
    report = validate_manifests(
        [("a.yaml", widget(version="v2")), ("b.yaml", widget(kind="Gadget")), ("c.yaml", widget(kind="widget"))],
        schema_dir,
    )
    assert (report.invalid, report.not_validated) == (1, 1)
    # a version the directory knows the kind in, but not this one, is not served
    assert only(report) == [("apiVersion", f"{GROUP}/v2 serves no Widget; served versions: v1")]
    # a kind the directory has no schema for is counted apart
    (gadget,) = report.unvalidated
    assert gadget.kind == "Gadget" and gadget.reason == f"no schema for {GROUP}/v1 Gadget in {schema_dir.resolve()}"
    assert report.valid == 1  # the file name gives no case: "widget" is looked up as Widget


def test_index_names_kinds_served_and_deprecated_versions(schema_dir: Path) -> None:
    (schema_dir / GROUP / "widget_v1beta1.nodesc.json").write_text(json.dumps(widget_schema()))
    index = [
        {
            "group": GROUP,
            "kind": "Widget",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema_file": f"schemas/crd/{GROUP}/widget_v1.json"},
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": False,
                    "deprecated": True,
                    "schema_file": f"schemas/crd/{GROUP}/widget_v1beta1.nodesc.json",
                },
            ],
        }
    ]
    (schema_dir / "INDEX.json").write_text(json.dumps(index))
    report = validate_manifests([("a.yaml", widget(version="v1beta1")), ("b.yaml", widget(kind="widget"))], schema_dir)
    assert report.valid == 1 and report.warnings == (f"{GROUP}/v1beta1 Widget is deprecated (storage version: v1)",)
    # with the index the exact kind is known, and kinds are case-sensitive
    assert only(report) == [("kind", f"'widget' is not a kind of {GROUP}/v1; did you mean Widget?")]


def test_bad_schema_dirs_are_refused(tmp_path: Path, schema_dir: Path) -> None:
    with pytest.raises(SchemaDirError, match="does not exist"):
        validate_manifests([], tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaDirError, match="no CRD schemas"):
        validate_manifests([], tmp_path / "empty")
    broken = tmp_path / "broken"
    (broken / GROUP).mkdir(parents=True)
    (broken / "INDEX.json").write_text(
        json.dumps(
            [{"group": GROUP, "kind": "Widget", "versions": [{"name": "v1", "schema_file": "x/widget_v1.json"}]}]
        )
    )
    with pytest.raises(SchemaDirError, match="is missing"):
        validate_manifests([], broken)


def test_input_objects_are_left_unchanged(schema_dir: Path) -> None:
    obj = widget(note=None)
    before = copy.deepcopy(obj)
    validate_manifests([("w.yaml", obj)], schema_dir)
    assert obj == before


def test_report_json_has_the_counts_and_every_problem(schema_dir: Path) -> None:
    report = validate_manifests(
        [("n.yaml", namespace()), ("w.yaml", widget(size=0)), ("g.yaml", widget(kind="Gadget"))], schema_dir
    )
    data = report.to_json()
    assert {k: data[k] for k in ("objects", "validated", "valid", "invalid", "notValidated")} == {
        "objects": 3,
        "validated": 2,
        "valid": 1,
        "invalid": 1,
        "notValidated": 1,
    }
    assert data["problems"] == [
        {
            "file": "w.yaml",
            "apiVersion": f"{GROUP}/v1",
            "kind": "Widget",
            "name": "w1",
            "path": "spec.size",
            "message": "0 is less than the minimum of 1",
        }
    ]
    assert [u["kind"] for u in data["notValidatedObjects"]] == ["Gadget"]
    assert report.summary_line() == (
        f"3 objects: 2 validated (1 invalid), 1 not validated (Kubernetes 1.33, CRD schemas {schema_dir})"
    )
    json.dumps(data)
