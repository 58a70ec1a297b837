"""Checkpoint and model storage per platform stack (what the three backends share; each backend is its own
module, so a stack loads only its cloud's SDK): the one thing here that cannot be rebuilt from config.

Three backends, one layout: every team writes under ``teams/<team>/`` (``team_prefix``) of one store, a
training identity may write there, a serving identity may only read, and nothing else gets in.

- ``S3ModelStorage`` (aws): one versioned bucket, IRSA roles ``<namespace>/trainer`` (read-write) and
  ``<namespace>/model-reader`` (read-only) per team, each limited to its team's prefix.
- ``GcsModelStorage`` (gcp): one versioned bucket, a Google service account per team and role bound to
  the same two Kubernetes service accounts through Workload Identity, bucket IAM limited to the prefix by
  IAM conditions.
- ``PvcModelStorage`` (existing clusters): a ``checkpoints`` PersistentVolumeClaim in each team's namespace.

The store is guarded three ways: ``protect`` (``pulumi up``/``destroy`` refuse to delete or replace it),
``retain_on_delete`` (once unprotected, deleting it only drops it from the state) and, in the clouds,
object versioning (an overwritten or deleted checkpoint stays recoverable for ``noncurrent_days``).
The Kubernetes service accounts themselves are the caller's (they carry the role/GSA annotations).
"""

import hashlib
import re
from collections.abc import Sequence

from components import labels as L

TRAINING_SERVICE_ACCOUNT = L.TRAINING_SERVICE_ACCOUNT
"""Kubernetes service account (in each team's namespace) that may write the team's checkpoints."""
SERVING_SERVICE_ACCOUNT = L.SERVING_SERVICE_ACCOUNT
"""Kubernetes service account (in each team's namespace) that may only read them."""
CLAIM_NAME = "checkpoints"
"""Name of each team's PersistentVolumeClaim (``PvcModelStorage``)."""

# S3 actions per role. No s3:DeleteObjectVersion or s3:PutLifecycleConfiguration: on a versioned bucket
# DeleteObject only adds a delete marker, so a trainer can hide a checkpoint but never destroy it.
TRAINING_S3_ACTIONS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject")
SERVING_S3_ACTIONS = ("s3:GetObject",)
MULTIPART_ABORT_DAYS = 7
"""Days after which S3 (and GCS) drop the parts of an unfinished multipart upload (a killed checkpoint write)."""

# GCS predefined roles (IAM roles reference, "Cloud Storage roles"): objectUser reads, writes, deletes
# objects and multipart uploads; objectViewer reads and lists.
TRAINING_GCS_ROLE = "roles/storage.objectUser"
SERVING_GCS_ROLE = "roles/storage.objectViewer"
ROLES = ("train", "serve")
"""Storage identities per team: ``train`` (read-write) and ``serve`` (read-only)."""

_GSA_ID = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
"""GCP's rule for service-account ids: 6-30 characters, a lowercase letter first, no trailing hyphen."""
_GSA_DIGEST = 6
"""Hex digits of the naming hash appended to every derived GSA id."""


def team_prefix(team: str) -> str:
    """The key prefix a team's checkpoints and models live under, in every backend: ``teams/<team>/``.

    The trailing slash matters: without it team ``a``'s grants would also match team ``ab``'s keys.
    """
    return f"teams/{team}/"


def gsa_account_id_problem(cluster: str, team: str, role: str) -> str | None:
    """Why no valid GSA id can be derived for ``cluster``/``team``/``role``, or ``None``."""
    if role not in ROLES:
        return f"role {role!r} is not one of {', '.join(ROLES)}"
    slug = _slug(cluster)
    if not slug or not slug[0].isalpha():
        return (
            f"cluster name {cluster!r} must start with a lowercase letter: GCP service-account ids "
            "(6-30 characters of [a-z0-9-], a letter first) are derived from it"
        )
    if not _slug(team):
        return f"team name {team!r} has no character a GCP service-account id can keep ([a-z0-9-])"
    return None


def gsa_account_id(cluster: str, team: str, role: str) -> str:
    """The Google service-account id of ``team``'s ``role`` (``train`` or ``serve``) storage identity.

    ``<cluster>-<team>-<trn|srv>`` cut to 23 characters, then ``-`` and 6 hex digits of a SHA-256 of the
    three full inputs: at most 30 characters, and distinct for every (cluster, team, role) even when long
    names cut to the same text. The hash also keeps these ids apart from the node pools' GSA ids
    (``<cluster[:10]>-<pool>``, ``<cluster>-system``) in the same project. Deterministic, so the id (and
    the email the Kubernetes service account is annotated with) is stable across runs; renaming the
    cluster or team replaces the account. Raises ``ValueError`` with ``gsa_account_id_problem``'s message.
    """
    problem = gsa_account_id_problem(cluster, team, role)
    if problem is not None:
        raise ValueError(problem)
    digest = hashlib.sha256(f"model-storage/{cluster}/{team}/{role}".encode()).hexdigest()[:_GSA_DIGEST]
    head = f"{_slug(cluster)}-{_slug(team)}-{'trn' if role == 'train' else 'srv'}"
    account = f"{head[: 30 - _GSA_DIGEST - 1].rstrip('-')}-{digest}"
    assert _GSA_ID.match(account), account  # guaranteed by the checks above; a bug otherwise
    return account


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def _check_teams(teams: Sequence[tuple[str, str]], where: str) -> None:
    """Names are a contract (children are named per team): fail once, naming every bad entry."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(teams):
        if len(entry) != 2 or not all(isinstance(v, str) and v for v in entry):
            problems.append(f"{where}.teams[{i}] = {entry!r}: expected (team, namespace), both non-empty")
            continue
        if entry[0] in seen:
            problems.append(f"{where}.teams[{i}]: team {entry[0]!r} is listed twice")
        seen.add(entry[0])
    if problems:
        raise ValueError("; ".join(problems))
