"""The GPU catalog: one place for GPU facts, pure data, no Pulumi.

``gpus``: portable GPU names (``l4``, ``h100`` ...). Cloud offerings (AWS
instance types, GCP machine and accelerator types, quota families, zones)
live beside it in this package.
"""

from components.catalog.gpus import GPU_NAMES, GPUS, Gpu

__all__ = ["GPUS", "GPU_NAMES", "Gpu"]
