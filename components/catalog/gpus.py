"""Portable GPU names and what they mean. Pure data, no Pulumi.

One place for GPU facts. The node-pool spec, the fake-GPU topology, the
plan summary and the policy pack all read this table; nothing else hard-codes
a GPU model. Cloud offerings (instance and machine types, quota codes) join
this table in the cloud node-pool work.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    """One NVIDIA GPU model as the platform names it."""

    name: str
    """Portable name used in stack config (``gpu: l4``)."""
    product: str
    """Value of the ``nvidia.com/gpu.product`` node label GPU feature discovery sets."""
    memory_mib: int
    """GPU memory in MiB, as nvidia-smi reports it (used for fake GPUs)."""
    architecture: str
    mig_profiles: tuple[str, ...] = ()
    """MIG profiles the GPU supports; empty when the GPU is not MIG-capable."""

    @property
    def mig_capable(self) -> bool:
        return bool(self.mig_profiles)


# Product strings are the ones GFD writes (`nvidia-smi --query-gpu=name` with
# spaces replaced by dashes); memory is nvidia-smi's total memory in MiB.
# MIG profiles from NVIDIA's MIG user guide "Supported MIG Profiles".
GPUS: dict[str, Gpu] = {
    gpu.name: gpu
    for gpu in (
        Gpu("t4", "Tesla-T4", 15360, "turing"),
        Gpu("a10g", "NVIDIA-A10G", 23028, "ampere"),
        Gpu("l4", "NVIDIA-L4", 23034, "ada-lovelace"),
        Gpu("l40s", "NVIDIA-L40S", 46068, "ada-lovelace"),
        Gpu(
            "a100-40gb",
            "NVIDIA-A100-SXM4-40GB",
            40960,
            "ampere",
            ("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
        ),
        Gpu(
            "a100-80gb",
            "NVIDIA-A100-SXM4-80GB",
            81920,
            "ampere",
            ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        ),
        Gpu(
            "h100",
            "NVIDIA-H100-80GB-HBM3",
            81559,
            "hopper",
            ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        ),
        Gpu(
            "h200",
            "NVIDIA-H200",
            143771,
            "hopper",
            ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
        ),
        Gpu(
            "b200",
            "NVIDIA-B200",
            183359,
            "blackwell",
            ("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"),
        ),
        # B300 (AWS p6-b300): product name as nvidia-smi reports it on HGX B300 ("NVIDIA B300 SXM6 AC");
        # memory is the per-GPU size AWS reports (nvidia-smi's figure not verified here); MIG profiles
        # from the GPU Operator 25.10 release notes.
        Gpu(
            "b300",
            "NVIDIA-B300-SXM6-AC",
            275040,
            "blackwell",
            ("1g.34gb", "1g.67gb", "2g.67gb", "3g.135gb", "4g.135gb", "7g.269gb"),
        ),
        # RTX PRO 6000 Blackwell Server Edition (AWS g7e, GCP g4): up to 4 MIG instances.
        Gpu(
            "rtx-pro-6000",
            "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition",
            97887,
            "blackwell",
            ("1g.24gb", "2g.48gb", "4g.96gb"),
        ),
        # RTX PRO 4500 Blackwell Server Edition (AWS g7). Unverified here: the product label (nvidia-smi's name
        # is assumed to follow the RTX PRO 6000's pattern), the nvidia-smi memory (AWS's 32768 MiB is used)
        # and MIG support (no profiles sourced, so none are listed and MIG pools are refused).
        Gpu("rtx-pro-4500", "NVIDIA-RTX-PRO-4500-Blackwell-Server-Edition", 32768, "blackwell"),
        # T4G (AWS g5g, Graviton arm64 hosts): the T4 silicon as AWS ships it on Arm. Unverified here: the
        # label (nvidia-smi "NVIDIA T4G" assumed) and the memory (the T4's nvidia-smi figure assumed).
        Gpu("t4g", "NVIDIA-T4G", 15360, "turing"),
    )
}

GPU_NAMES: tuple[str, ...] = tuple(GPUS)


def mig_compute_units(gpu: Gpu) -> int:
    """Compute slices of the whole GPU: the ``N`` of its largest profile (``7g.80gb`` -> 7)."""
    return max(int(p.split("g.", 1)[0]) for p in gpu.mig_profiles)


def mig_memory_units(gpu: Gpu) -> int:
    """Memory slices of the whole GPU: 8 on the 7-slice GPUs, one per compute slice otherwise."""
    return 8 if mig_compute_units(gpu) == 7 else mig_compute_units(gpu)


def mig_profile_units(gpu: Gpu, profile: str) -> tuple[int, int]:
    """(compute slices, memory slices) one instance of ``profile`` takes on ``gpu``."""
    largest = max(gpu.mig_profiles, key=lambda p: int(p.split("g.", 1)[0]))
    total_gb = float(largest.split(".", 1)[1].removesuffix("gb"))
    compute = int(profile.split("g.", 1)[0])
    memory_gb = float(profile.split(".", 1)[1].removesuffix("gb"))
    return compute, max(1, round(memory_gb * mig_memory_units(gpu) / total_gb))


def mig_max_instances(gpu: Gpu, profile: str) -> int:
    """How many instances of ``profile`` fit on one GPU (NVIDIA MIG user guide's table, derived)."""
    compute, memory = mig_profile_units(gpu, profile)
    return min(mig_compute_units(gpu) // compute, mig_memory_units(gpu) // memory)


def mig_layout_problem(gpu: Gpu, layout: dict[str, int]) -> str | None:
    """Why a per-GPU layout (profile -> count) does not fit one GPU, or ``None``."""
    unknown = sorted(set(layout) - set(gpu.mig_profiles))
    if unknown:
        return f"{', '.join(unknown)} not a MIG profile of {gpu.name}; allowed: {', '.join(gpu.mig_profiles)}"
    compute = sum(mig_profile_units(gpu, p)[0] * n for p, n in layout.items())
    memory = sum(mig_profile_units(gpu, p)[1] * n for p, n in layout.items())
    if compute > mig_compute_units(gpu) or memory > mig_memory_units(gpu):
        return (
            f"the layout needs {compute}/{mig_compute_units(gpu)} compute and {memory}/{mig_memory_units(gpu)} "
            f"memory slices of one {gpu.name}; it does not fit"
        )
    return None
