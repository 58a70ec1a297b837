"""Read GPU quotas, and what is already in use, from the clouds themselves (``liveLookup: true``).

- AWS: Service Quotas ``GetServiceQuota`` (the applied value; ``GetAWSDefaultServiceQuota`` when the
  account never changed it) per region and EC2 vCPU quota code, and the quota's own ``UsageMetric``
  (CloudWatch ``AWS/Usage`` ``ResourceCount``, vCPUs in use, the latest datapoint of the last hour).
  boto3 finds credentials and endpoints the standard way (``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` ...).
- GCP: the Compute Engine ``regions.get`` (limit and usage per metric) and ``projects.get``
  (``GPUS_ALL_REGIONS``) APIs; for the families ``regions.get`` does not report (H100, H100 Mega,
  H200, B200 on demand) the Cloud Quotas API's per-GPU-family quota, which reports no usage.
  Plain REST through google-auth (Application Default Credentials): the generated client libraries
  need protobuf 6, which the Pulumi SDK's pins exclude, and take seconds to import.

Nothing hangs: every call has connect and read timeouts and at most one retry, and each cloud's
lookups share one deadline; what is not read by then fails like any other lookup. A failed
lookup never raises: it is returned with its reason, and the policy counts that family as unknown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

Key = tuple[str, str, str]
"""(cloud, region or ``global``, quota family)."""

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
DEFAULT_DEADLINE_S = 10.0
"""Default time one cloud's lookups may take in all (``lookupTimeoutSeconds``)."""

# GCP families the Compute regions API does not report, read from the Cloud Quotas API instead:
# quota id and the gpu_family dimension.
GCP_FAMILY_QUOTA_ID = "GPUS-PER-GPU-FAMILY-per-project-region"
GCP_GPU_FAMILIES = {
    "NVIDIA_H100_GPUS": "NVIDIA_H100",
    "NVIDIA_H100_MEGA_GPUS": "NVIDIA_H100_MEGA",
    "NVIDIA_H200_GPUS": "NVIDIA_H200",
    "NVIDIA_B200_GPUS": "NVIDIA_B200",
}
GCP_COMPUTE = "https://compute.googleapis.com"
GCP_CLOUD_QUOTAS = "https://cloudquotas.googleapis.com"


@dataclass(frozen=True)
class LiveQuota:
    limit: int
    source: str
    """Where the limit comes from, e.g. ``AWS Service Quotas (applied value)``."""
    usage: int | None = None
    """Already in use in the account or project (this stack's running nodes included); ``None``: unknown."""
    usage_note: str = ""
    """Where the usage comes from, or why it is unknown."""


@dataclass
class Lookup:
    found: dict[Key, LiveQuota] = field(default_factory=dict)
    failed: dict[Key, str] = field(default_factory=dict)
    """Why a family could not be read."""


@dataclass(frozen=True)
class Settings:
    deadline_s: float = DEFAULT_DEADLINE_S
    gcp_project: str = ""
    gcp_compute: str = GCP_COMPUTE
    gcp_cloud_quotas: str = GCP_CLOUD_QUOTAS
    gcp_anonymous: bool = False
    """Send no credentials (emulators and tests)."""

    @staticmethod
    def of(config: Mapping[str, Any], gcp_project: str = "") -> Settings:
        gcp = config.get("gcp") or {}
        return Settings(
            deadline_s=float(config.get("lookupTimeoutSeconds") or DEFAULT_DEADLINE_S),
            gcp_project=str(gcp.get("project") or gcp_project),
            gcp_compute=str(gcp.get("computeEndpoint") or GCP_COMPUTE).rstrip("/"),
            gcp_cloud_quotas=str(gcp.get("cloudQuotasEndpoint") or GCP_CLOUD_QUOTAS).rstrip("/"),
            gcp_anonymous=bool(gcp.get("anonymous")),
        )


def lookup(keys: Iterable[Key], settings: Settings) -> Lookup:
    """Read every key; each cloud's calls share ``settings.deadline_s``."""
    result = Lookup()
    by_cloud: dict[str, list[Key]] = {}
    for key in sorted(set(keys)):
        by_cloud.setdefault(key[0], []).append(key)
    for cloud, cloud_keys in by_cloud.items():
        reader = READERS.get(cloud)
        if reader is None:
            result.failed.update({k: f"no live lookup for {cloud}" for k in cloud_keys})
            continue
        try:
            reader(cloud_keys, settings, time.monotonic() + settings.deadline_s, result)
        except Exception as err:  # a lookup never takes the preview down: whatever it is, it is "not read"
            reason = f"the {cloud} lookup failed: {type(err).__name__}: {err}"
            result.failed.update({k: reason for k in cloud_keys if k not in result.found and k not in result.failed})
    return result


def _time_left(deadline: float, most: float) -> float:
    """A call's timeout: its usual bound, or what is left of the deadline if that is less (at least 0.1 s)."""
    return max(0.1, min(most, deadline - time.monotonic()))


# ---------------------------------------------------------------- AWS


def _aws_error(err: Exception) -> str:
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(err, NoCredentialsError):
        return "no AWS credentials (set AWS_PROFILE or the AWS_* variables, or use an OIDC role in CI)"
    if isinstance(err, NoRegionError):
        return "no AWS region"
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"AWS answered {error.get('Code', 'an error')}: {error.get('Message', '')}".rstrip(": ")
    return f"AWS could not be reached: {type(err).__name__}: {err}"


def _aws(keys: list[Key], settings: Settings, deadline: float, result: Lookup) -> None:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        result.failed.update({k: "boto3 is not installed in the policy pack's environment" for k in keys})
        return
    try:
        # A session per lookup: credentials are resolved afresh each analysis (boto3's default session caches
        # them). A bad AWS_PROFILE or config file fails here: every key is then "not read", with why.
        session = boto3.session.Session()
    except (BotoCoreError, ValueError) as err:
        result.failed.update({k: _aws_error(err) for k in keys})
        return
    for key in keys:
        _, region, code = key
        # A pool that names no region (a NodePool without the platform's annotation) is read in the session's.
        region = region or session.region_name or ""
        if not region:
            result.failed[key] = (
                "no AWS region for this pool (set AWS_REGION, or the NodePool's gpu-platform.io/region annotation)"
            )
            continue
        if time.monotonic() > deadline:
            result.failed[key] = f"not read: the lookup took longer than {settings.deadline_s:g} s"
            continue
        config = Config(
            connect_timeout=_time_left(deadline, CONNECT_TIMEOUT_S),
            read_timeout=_time_left(deadline, READ_TIMEOUT_S),
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        try:
            quotas = session.client("service-quotas", region_name=region, config=config)
            try:
                quota = quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
                source = "AWS Service Quotas (applied value)"
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") != "NoSuchResourceException":
                    raise
                quota = quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
                source = "AWS Service Quotas (default value)"
            usage, note = _aws_usage(session.client("cloudwatch", region_name=region, config=config), quota)
            result.found[key] = LiveQuota(int(float(quota["Value"])), source, usage, note)
        except (BotoCoreError, ClientError, ValueError) as err:
            result.failed[key] = _aws_error(err)


def _aws_usage(cloudwatch: Any, quota: Mapping[str, Any]) -> tuple[int | None, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    metric = quota.get("UsageMetric") or {}
    if not metric.get("MetricName"):
        return None, "the quota names no usage metric"
    now = datetime.now(timezone.utc)  # noqa: UP017 - datetime.UTC is 3.11+, and the pack may run on 3.10
    dimensions = sorted((metric.get("MetricDimensions") or {}).items())
    statistic = metric.get("MetricStatisticRecommendation") or "Maximum"
    try:
        points = cloudwatch.get_metric_statistics(
            Namespace=metric["MetricNamespace"],
            MetricName=metric["MetricName"],
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=5),  # past now: the latest period is still open
            Period=300,
            Statistics=[statistic],
        ).get("Datapoints", [])
    except (BotoCoreError, ClientError) as err:
        return None, f"usage not read ({_aws_error(err)})"
    if not points:
        return None, "no CloudWatch usage datapoint in the last hour"
    latest = max(points, key=lambda p: p["Timestamp"])
    where = ", ".join(f"{k}={v}" for k, v in dimensions)
    return int(float(latest[statistic])), f"CloudWatch {metric['MetricNamespace']} {metric['MetricName']} ({where})"


# ---------------------------------------------------------------- GCP


class _GcpError(Exception):
    pass


def _gcp_http(settings: Settings) -> Callable[[str, float], Any]:
    import google.auth
    import urllib3
    from google.auth.credentials import AnonymousCredentials, Credentials
    from google.auth.exceptions import DefaultCredentialsError
    from google.auth.transport.urllib3 import AuthorizedHttp

    credentials: Credentials
    if settings.gcp_anonymous:
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    else:
        try:
            # cloud-platform: the one scope both the Compute and the Cloud Quotas APIs accept (not its read-only form).
            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except DefaultCredentialsError:
            raise _GcpError(
                "no Google credentials (run `gcloud auth application-default login`, or use Workload Identity "
                "Federation in CI)"
            ) from None
    http = AuthorizedHttp(  # type: ignore[no-untyped-call]
        credentials,
        http=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
            retries=urllib3.Retry(
                total=1,
                backoff_factor=0.2,
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=frozenset({"GET"}),
                raise_on_status=False,
                respect_retry_after_header=False,  # a throttled API may ask for hours; the deadline decides
            ),
        ),
    )

    def get(url: str, deadline: float = float("inf")) -> Any:
        timeout = urllib3.Timeout(
            connect=_time_left(deadline, CONNECT_TIMEOUT_S), read=_time_left(deadline, READ_TIMEOUT_S)
        )
        try:
            response = http.request("GET", url, timeout=timeout)
        except Exception as err:  # urllib3 and google-auth raise many types; all mean "not read"
            raise _GcpError(f"Google APIs could not be reached: {type(err).__name__}: {err}") from None
        try:
            body = json.loads(response.data or b"{}")
        except ValueError:
            body = {}
        if response.status != 200:
            message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
            raise _GcpError(f"{url} answered HTTP {response.status}: {message or response.reason}")
        return body

    return get


def _gcp(keys: list[Key], settings: Settings, deadline: float, result: Lookup) -> None:
    if not settings.gcp_project:
        result.failed.update({k: "no GCP project (set gcp.project in the gpu-cloud-quota config)" for k in keys})
        return
    try:
        http_get = _gcp_http(settings)
    except ImportError:
        result.failed.update({k: "google-auth is not installed in the policy pack's environment" for k in keys})
        return
    except _GcpError as err:
        result.failed.update({k: str(err) for k in keys})
        return
    project = settings.gcp_project

    def get(url: str) -> Any:
        return http_get(url, deadline)  # every call's timeout within what is left of the deadline

    regions: dict[str, dict[str, Mapping[str, Any]] | str] = {}
    for key in keys:
        _, region, metric = key
        if time.monotonic() > deadline:
            result.failed[key] = f"not read: the lookup took longer than {settings.deadline_s:g} s"
            continue
        try:
            if metric in GCP_GPU_FAMILIES:
                result.found[key] = _gcp_family_quota(get, settings, project, region, metric)
                continue
            if region not in regions:
                url = f"{settings.gcp_compute}/compute/v1/projects/{project}" + (
                    "" if region == "global" else f"/regions/{region}"
                )
                try:
                    regions[region] = {q["metric"]: q for q in get(url).get("quotas") or [] if "metric" in q}
                except _GcpError as err:
                    regions[region] = str(err)
            quotas = regions[region]
            if isinstance(quotas, str):
                raise _GcpError(quotas)
            quota = quotas.get(metric)
            if quota is None:
                raise _GcpError(f"the Compute API lists no {metric} quota for {region} in project {project}")
            api = "projects.get" if region == "global" else "regions.get"
            result.found[key] = LiveQuota(
                int(float(quota.get("limit") or 0)),
                f"GCP Compute {api}",
                int(float(quota.get("usage") or 0)),
                f"GCP Compute {api} usage",
            )
        except _GcpError as err:
            result.failed[key] = str(err)


def _gcp_family_quota(
    get: Callable[[str], Any], settings: Settings, project: str, region: str, metric: str
) -> LiveQuota:
    family = GCP_GPU_FAMILIES[metric]
    url = (
        f"{settings.gcp_cloud_quotas}/v1/projects/{project}/locations/global/services/compute.googleapis.com/"
        f"quotaInfos/{GCP_FAMILY_QUOTA_ID}"
    )
    info = get(url)
    # dimensionsInfos come most specific first; the last, without dimensions, is the default for all.
    for entry in info.get("dimensionsInfos") or []:
        dimensions = entry.get("dimensions") or {}
        if dimensions.get("region", region) == region and dimensions.get("gpu_family", family) == family:
            # Cloud Quotas omits a zero value.
            value = int(float((entry.get("details") or {}).get("value") or 0))
            return LiveQuota(
                value,
                f"GCP Cloud Quotas {GCP_FAMILY_QUOTA_ID} (gpu_family={family})",
                None,
                "the Cloud Quotas API reports no usage",
            )
    raise _GcpError(f"Cloud Quotas lists no {GCP_FAMILY_QUOTA_ID} value for {family} in {region}")


READERS: dict[str, Callable[[list[Key], Settings, float, Lookup], None]] = {"aws": _aws, "gcp": _gcp}
