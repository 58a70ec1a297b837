"""Emulated quota APIs for the live lookup's tests: moto's Service Quotas taught the EC2 vCPU codes, and a local
fake of the Google Compute and Cloud Quotas REST APIs. Nothing here reaches the internet."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.servicequotas.exceptions import NoSuchResource
from moto.servicequotas.models import ServiceQuotasBackend, servicequotas_backends
from moto.servicequotas.responses import ServiceQuotasResponse

# ---------------------------------------------------------------- AWS (moto)

# moto 5.2 serves only ServiceCode=vpc and lacks GetAWSDefaultServiceQuota: these patches add both for quotas a
# test seeds. Seeds live on the backend instance, so moto's own reset clears them.
_MOTO_GET = ServiceQuotasBackend.get_service_quota

USAGE_CLASS = {"L-DB2E81BA": "G/OnDemand", "L-3819A6DF": "G/Spot", "L-417A185B": "P/OnDemand", "L-7212CCBC": "P/Spot"}
"""The ``Class`` dimension of each EC2 vCPU quota's usage metric, as Service Quotas returns it."""


def _seeds(backend: ServiceQuotasBackend) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    return backend.__dict__.setdefault("_test_quotas", {"applied": {}, "default": {}})


def _get_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
    seeds = _seeds(self)
    key = (service_code, quota_code)
    if key in seeds["applied"]:
        return seeds["applied"][key]
    return _MOTO_GET(self, service_code, quota_code)


def _get_default_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
    found = _seeds(self)["default"].get((service_code, quota_code))
    if found is None:
        raise NoSuchResource
    return found


def _respond_default_quota(self: ServiceQuotasResponse) -> str:
    params = json.loads(self.body)
    return json.dumps({"Quota": self.backend.get_aws_default_service_quota(params["ServiceCode"], params["QuotaCode"])})


@contextlib.contextmanager
def ec2_quotas_taught() -> Iterator[None]:
    patches = {
        (ServiceQuotasBackend, "get_service_quota"): _get_service_quota,
        (ServiceQuotasBackend, "get_aws_default_service_quota"): _get_default_quota,
        (ServiceQuotasResponse, "get_aws_default_service_quota"): _respond_default_quota,
    }
    saved = {key: key[0].__dict__.get(key[1]) for key in patches}
    for (cls, name), fn in patches.items():
        setattr(cls, name, fn)
    try:
        yield
    finally:
        for (cls, name), old in saved.items():
            if old is None:
                delattr(cls, name)
            else:
                setattr(cls, name, old)


def ec2_quota(code: str, value: float) -> dict[str, Any]:
    """A ``Quota`` shaped like Service Quotas' answer for an EC2 vCPU quota, with its usage metric."""
    return {
        "ServiceCode": "ec2",
        "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
        "QuotaCode": code,
        "QuotaName": code,
        "Value": float(value),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
        "UsageMetric": {
            "MetricNamespace": "AWS/Usage",
            "MetricName": "ResourceCount",
            "MetricDimensions": {"Class": USAGE_CLASS[code], "Resource": "vCPU", "Service": "EC2", "Type": "Resource"},
            "MetricStatisticRecommendation": "Maximum",
        },
    }


def seed_ec2_quota(
    region: str,
    code: str,
    *,
    applied: float | None = None,
    default: float | None = None,
    account: str = DEFAULT_ACCOUNT_ID,
) -> None:
    seeds = _seeds(servicequotas_backends[account][region])
    if applied is not None:
        seeds["applied"][("ec2", code)] = ec2_quota(code, applied)
    if default is not None:
        seeds["default"][("ec2", code)] = ec2_quota(code, default)


def put_vcpu_usage(cloudwatch: Any, code: str, vcpus: float) -> None:
    """What AWS publishes for the quota's usage (CloudWatch ``AWS/Usage``; moto accepts the AWS namespace)."""
    dimensions = ec2_quota(code, 0)["UsageMetric"]["MetricDimensions"]
    cloudwatch.put_metric_data(
        Namespace="AWS/Usage",
        MetricData=[
            {
                "MetricName": "ResourceCount",
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())],
                "Value": vcpus,
            }
        ],
    )


# ---------------------------------------------------------------- GCP (local HTTP fake)


class GoogleApis:
    """A local fake of ``compute.googleapis.com`` (regions.get, projects.get) and ``cloudquotas.googleapis.com``
    (quotaInfos.get), with answers a test sets; ``status`` forces an error answer for every request."""

    def __init__(self) -> None:
        self.regions: dict[str, list[dict[str, Any]]] = {}
        self.project_quotas: list[dict[str, Any]] = []
        self.quota_infos: dict[str, dict[str, Any]] = {}
        self.status = 200
        self.headers: dict[str, str] = {}
        """Extra response headers (``Retry-After`` ...)."""
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in fake.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, Mapping[str, Any]]:
        if self.status != 200:
            return self.status, {"error": {"code": self.status, "message": "Permission denied on resource project"}}
        parts = path.strip("/").split("/")
        if parts[:3] == ["compute", "v1", "projects"] and len(parts) == 4:
            return 200, {"name": parts[3], "quotas": copy.deepcopy(self.project_quotas)}
        regional = parts[:3] == ["compute", "v1", "projects"] and len(parts) == 6 and parts[4] == "regions"
        if regional and parts[5] in self.regions:
            return 200, {"name": parts[5], "quotas": copy.deepcopy(self.regions[parts[5]])}
        if parts[:1] == ["v1"] and "quotaInfos" in parts and parts[-1] in self.quota_infos:
            return 200, copy.deepcopy(self.quota_infos[parts[-1]])
        return 404, {"error": {"code": 404, "message": f"no route {path}"}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def config(self, project: str = "gpu-platform-dev") -> dict[str, Any]:
        """The ``gcp`` block of the quota policy's config that points the lookup at this fake."""
        return {"project": project, "computeEndpoint": self.url, "cloudQuotasEndpoint": self.url, "anonymous": True}
