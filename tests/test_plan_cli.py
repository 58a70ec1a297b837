"""`python -m infra.plan`: outputs, exit codes, determinism, no cloud SDK import, clear errors."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, STACKS


def run_plan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.plan", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI's ``main`` in this process (the interpreter and its imports are paid once): the same exit code
    and output as ``run_plan``, for tests about what a plan reports rather than how the CLI starts."""
    from infra.plan.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def local_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("plan") / "local"
    return run_plan("--stack", "local", "--out", str(out)), out


def test_local_plan_exits_zero_and_prints_table(local_out: Any) -> None:
    result, out = local_out
    assert result.returncode == 0, result.stderr
    manifests = len(list((out / "manifests").glob("*.yaml")))
    resources = json.loads((out / "summary.json").read_text())["resources"]
    assert f"wrote {out}: resources.json ({resources} resources), manifests/ ({manifests} objects)" in result.stderr
    assert "GPU pools at maximum scale" in result.stdout
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("t4-shared ")]
    assert row.split() == ["t4-shared", "t4", "-", "1", "0..1", "on-demand", "time-slicing", "x4", "1/4", "-"]
    # What a reviewer needs first, the resource counts last; plain text when not on a terminal.
    out = result.stdout
    assert out.index("GPU pools") < out.index("policy violations") < out.index("Resources by type")
    assert "\x1b[" not in out
    assert "policy violations: 0 (0 mandatory)" in result.stdout


def test_out_dir_contract(local_out: Any) -> None:
    _, out = local_out
    resources = json.loads((out / "resources.json").read_text())
    assert resources == sorted(resources, key=lambda r: r["urn"])
    for record in resources:
        assert {"urn", "type", "name", "parent", "custom", "protect", "inputs"} <= set(record)
    assert json.loads((out / "policy.json").read_text()) == []
    manifests = sorted(p.name for p in (out / "manifests").iterdir())
    assert manifests[0].startswith("00-namespace_")  # namespaces apply first
    for path in (out / "manifests").iterdir():
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
    releases = list(yaml.safe_load_all((out / "helm-releases.yaml").read_text()))
    assert {(r["chart"], r["version"]) for r in releases} == {
        ("nvidia-device-plugin", "0.20.0"),
        ("dcgm-exporter", "4.8.2"),
        ("oci://ghcr.io/run-ai/fake-gpu-operator/fake-gpu-operator", "0.2.0"),
        ("oci://registry.k8s.io/kueue/charts/kueue", "0.19.2"),
    }


def test_integral_numbers_written_as_integers(local_out: Any) -> None:
    _, out = local_out
    text = (out / "resources.json").read_text() + (out / "helm-releases.yaml").read_text()
    assert "gpuCount: 2\n" in text
    assert not re.search(r"[:\s]\d+\.0\b[^.]", text), "an integral float was written"


def test_byte_identical_output(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    r1 = run_plan("--stack", "local", "--out", str(first), "--json")
    r2 = run_plan("--stack", "local", "--out", str(second), "--json")
    assert r1.stdout == r2.stdout
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_json_summary(local_out: Any) -> None:
    # --out writes the summary --json prints (the same dict).
    _, out = local_out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exitCode"] == 0 and summary["stack"] == "local"
    assert summary["resourcesByType"]["kubernetes:core/v1:Namespace"] == 4
    assert [p["maxSchedulableGpus"] for p in summary["pools"]] == [4, 4]
    assert summary["violations"] == {"total": 0, "mandatory": 0, "byPolicy": {}}


def test_mandatory_violation_exits_one(tmp_path: Path) -> None:
    # Declaring the device plugin's pinned version "floating" turns its Helm release into a mandatory violation.
    policy_config = tmp_path / "policy.json"
    policy_config.write_text(json.dumps({"pinned-versions": {"floatingTags": ["latest", "0.20.0"]}}))
    result = run_main("--stack", "local", "--policy-config", str(policy_config), "--out", str(tmp_path / "o"))
    assert result.returncode == 1, result.stderr
    (violation,) = json.loads((tmp_path / "o" / "policy.json").read_text())
    assert violation["policy"] == "pinned-versions" and violation["enforcementLevel"] == "mandatory"
    assert violation["urn"].endswith("kubernetes:helm.sh/v3:Release::gpu-software-device-plugin")
    assert "version '0.20.0' floats" in violation["message"]


def test_advisory_violation_exits_zero(tmp_path: Path) -> None:
    policy_config = tmp_path / "policy.json"
    policy_config.write_text(
        json.dumps({"pinned-versions": {"enforcementLevel": "advisory", "floatingTags": ["0.20.0"]}})
    )
    result = run_main("--stack", "local", "--policy-config", str(policy_config))
    assert result.returncode == 0
    assert "pinned-versions [advisory]: 1" in result.stdout


def test_invalid_config_exits_two_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        "config:\n  gpu-platform:cloud: azure\n  gpu-platform:nodePools:\n    - name: x\n      maxNodes: -1\n"
    )
    out = tmp_path / "out"
    result = run_plan("--config", str(bad), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert 'gpu-platform:cloud: "azure" is not allowed; allowed: existing, aws or gcp' in result.stderr
    assert "gpu-platform:nodePools[0].maxNodes: -1 is too small" in result.stderr
    assert not out.exists()  # nothing written for a bad config


def test_invalid_policy_config_exits_two(tmp_path: Path) -> None:
    policy_config = tmp_path / "policy.json"
    policy_config.write_text(json.dumps({"gpu-limits": {"enforcementLevel": "strict"}}))
    result = run_main("--stack", "local", "--policy-config", str(policy_config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "gpu-limits.enforcementLevel" in result.stderr


@pytest.mark.parametrize("args", [["--stack", "nope"], ["--bogus"], ["--stack", "a", "--config", "b"]])
def test_usage_errors_exit_two(args: list[str]) -> None:
    result = run_plan(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def in_process(*argv: str) -> tuple[int, str]:
    """The CLI in this process (config and usage errors return before the Pulumi runtime loads)."""
    import contextlib
    import io

    from infra.plan.__main__ import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--stack", ""], "--stack: '' is not a Pulumi stack name"),
        (["--stack", "../etc/passwd"], "--stack: '../etc/passwd' is not a Pulumi stack name"),
        (["--stack", "local", "--out", str(ROOT / "README.md")], "README.md: is a file; allowed: a directory"),
        (["--stack", "local", "--out", str(ROOT / "README.md" / "x")], "README.md is a file, so the directory cannot"),
        (["--stack", "local", "--policy-pack", str(ROOT / "stacks")], "not a policy pack directory"),
        (["--stack", "local", "--policy-config", str(ROOT / "stacks")], "is a directory; expected a JSON file"),
        (["--stack", "local", "--policy-config", str(ROOT / "nope.json")], "nope.json: file not found"),
        (["--config", str(ROOT / "stacks")], "is a directory; expected a stack config file"),
    ],
)
def test_every_input_path_error_is_one_clear_line(argv: list[str], expected: str) -> None:
    code, err = in_process(*argv)
    assert code == 2 and expected in err and "Traceback" not in err


def test_stack_and_policy_config_problems_come_together(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.both.yaml"
    stack.write_text("config:\n  gpu-platform:cloud: azure\n")
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "gpu-cloud-quota": {"quotas": {"aws": {"us-east-1": {"L-DB2E81BB": 64}}}},
                "gpu-cost-ceiling": {"monthlyBudget": -1},
                "gpu-limit": "advisory",
            }
        )
    )
    code, err = in_process("--config", str(stack), "--policy-config", str(policy))
    assert code == 2
    assert 'gpu-platform:cloud: "azure" is not allowed' in err
    assert (
        "gpu-cloud-quota.quotas.aws.us-east-1.L-DB2E81BB: not one of aws's GPU quota families here (did you mean L-DB2E81BA?)"
        in err
    )
    assert "gpu-cost-ceiling.monthlyBudget: -1 is less than the minimum of 0" in err
    assert "no policy named 'gpu-limit' in pack 'gpu-platform' (did you mean gpu-limits?)" in err


def test_runs_from_any_directory(tmp_path: Path) -> None:
    assert run_plan("--stack", "local", cwd=tmp_path).returncode == 0


CLOUD_SDKS = {"existing": set(), "aws": {"pulumi_aws"}, "gcp": {"pulumi_gcp"}}
# One example per cloud, and a team stack (the other examples plan in-process in the snapshot, manifest and policy
# tests; a fresh interpreter per stack costs seconds).
CLI_STACKS = ["local", "aws-dev", "gcp-dev", "aws-dev-inference"]


def test_cli_stacks_cover_every_cloud_and_a_team_stack() -> None:
    clouds = {
        yaml.safe_load((ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text())["config"].get("gpu-platform:cloud")
        for s in CLI_STACKS
    }
    assert clouds == {"existing", "aws", "gcp", None} and set(CLI_STACKS) <= set(STACKS)


@pytest.mark.parametrize("stack", CLI_STACKS)
def test_example_stack_plans_clean_importing_only_its_cloud_sdk(stack: str) -> None:
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    platform = config.get("gpu-platform:platform")
    if platform is not None:
        # A team stack's offline plan plans its platform stack first (answering the StackReference): that
        # stack's cloud SDK loads then, though the team program itself uses only Kubernetes.
        config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{platform['stack']}.yaml").read_text())["config"]
    cloud = config["gpu-platform:cloud"]
    code = (
        "import sys; from infra.plan.__main__ import main; rc = main(['--stack', %r, '--json']);"
        "sdks = sorted({m.split('.')[0] for m in sys.modules} & {'pulumi_aws', 'pulumi_gcp', 'boto3', 'moto'});"
        "print('CLOUD-SDKS', sdks, file=sys.stderr); sys.exit(rc)" % stack
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"CLOUD-SDKS {sorted(CLOUD_SDKS[cloud])}" in result.stderr
    summary = json.loads(result.stdout)
    # The cloud examples open their API endpoint to any address (a development default, still authenticated), which
    # the advisory cluster-endpoint-restricted reports; nothing else.
    open_endpoint = cloud != "existing" and platform is None
    assert summary["violations"]["mandatory"] == 0
    counts = {name: entry["count"] for name, entry in summary["violations"]["byPolicy"].items()}
    assert counts == ({"cluster-endpoint-restricted": 1} if open_endpoint else {})
    if cloud != "existing" and platform is None:
        # Every cloud example ships the quota config it fits in, and uses it by default.
        assert summary["policyConfig"] == f"stacks/policy-config.{stack}.json"
        assert summary["quotas"] and all(q["quota"] is not None and q["headroom"] >= 0 for q in summary["quotas"])
        assert all(q["source"] == "policy config" and q["inUse"] is None for q in summary["quotas"])
        # The cost table prices every cloud pool at maximum scale, within the example's budget.
        costs = summary["costs"]
        assert costs["pools"] and costs["unpriced"] == [] and all(c["monthlyAtMax"] > 0 for c in costs["pools"])
        assert costs["totalMonthlyAtMax"] == pytest.approx(sum(c["monthlyAtMax"] for c in costs["pools"]), abs=0.05)
        assert costs["totalMonthlyAtMax"] <= costs["monthlyBudget"]


def test_config_errors_found_before_heavy_imports(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  gpu-platform:cloud: azure\n")
    code = (
        "import sys; from infra.plan.__main__ import main; rc = main(['--config', %r]);"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(('pulumi_kubernetes', 'grpc'))), file=sys.stderr);"
        "sys.exit(rc)" % str(bad)
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "LOADED []" in result.stderr


def test_two_objects_with_one_kind_and_name_are_never_written(tmp_path: Path) -> None:
    import pulumi_kubernetes as k8s

    from infra.plan.engine import ProgramError, run_program
    from infra.plan.render import manifests

    def program() -> None:
        k8s.core.v1.Namespace("first", metadata={"name": "same"})
        k8s.core.v1.Namespace("second", metadata={"name": "same"})

    capture = run_program(program, "twice")
    with pytest.raises(ProgramError, match=r"same kind and name would be planned: 00-namespace_same\.yaml"):
        manifests(capture.registrations)


def test_objects_the_api_server_would_refuse_fail_the_plan(tmp_path: Path) -> None:
    # A CRD schema (our own, minimal) under which the planned ResourceFlavors have a field too many.
    group = tmp_path / "schemas" / "kueue.x-k8s.io"
    group.mkdir(parents=True)
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"tolerations": {"type": "array"}}}},
    }
    (group / "resourceflavor_v1beta2.json").write_text(json.dumps(schema))
    code, err = in_process("--stack", "local", "--schemas", str(tmp_path / "schemas"))
    assert code == 2 and "Traceback" not in err
    assert "ResourceFlavor/l4-sim: spec.nodeLabels" in err


def test_the_summary_says_what_was_validated() -> None:
    result = run_main("--stack", "local", "--json")
    validation = json.loads(result.stdout)["validation"]
    assert validation["objects"] == validation["validated"] + validation["notValidated"] > 0
    assert validation["invalid"] == 0 and validation["schemaDir"] is None


def test_stack_with_job_and_endpoint_secrets_plans_and_hides_them(tmp_path: Path) -> None:
    # Secrets read as a placeholder offline; the Secret objects they fill still render and validate.
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text())
    config["config"]["gpu-platform:serving"]["endpoints"][0]["hfToken"] = {"secure": "AAABAciphertext"}
    path = tmp_path / "Pulumi.tok.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    result = run_main("--config", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    (secret,) = out.glob("manifests/*secret_team-inference_qwen-7b-hf-token.yaml")
    assert yaml.safe_load(secret.read_text())["stringData"] == {"HF_TOKEN": "[secret]"}


def test_summary_shows_quota_and_cost_tables() -> None:
    done = run_main("--stack", "aws-train")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("Cloud GPU quotas (headroom: quota - planned max - in use, where the cloud reports use)")
    assert lines[at + 1].split() == [
        "cloud",
        "region",
        "family",
        "planned",
        "max",
        "quota",
        "in",
        "use",
        "headroom",
        "source",
    ]
    p_on_demand = next(line for line in lines[at:] if "L-417A185B (Running On-Demand P" in line)
    assert p_on_demand.split()[-2:] == ["policy", "config"]
    cost = next(i for i, line in enumerate(lines) if line.startswith("GPU cost at maximum scale (on-demand): $"))
    assert lines[cost].endswith("of a $100,000 budget")
    rows = {line.split()[0]: line for line in lines[cost + 3 : cost + 5]}
    assert (
        "p5.48xlarge" in rows["h100-efa"]
        and "$55.04" in rows["h100-efa"]
        and "us-east-1 default of" in rows["h100-efa"]
    )
