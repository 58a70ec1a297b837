"""The benchmarks' generated stacks stay valid as the config checks grow (a benchmark that no longer
parses measures nothing, and nobody runs benchmarks in CI)."""

import importlib

import pytest

from stacks.loader import parse


@pytest.mark.parametrize("cloud", ["existing", "aws", "gcp"])
@pytest.mark.parametrize("size", [1, 100, 1000])
def test_generated_stack_parses(cloud: str, size: int) -> None:
    raw = importlib.import_module(f"benchmarks.{cloud}_stack").make_raw(size)
    config = parse(raw)
    assert len(config.node_pools) == size


@pytest.mark.parametrize("module", ["train_jobs", "endpoints"])
@pytest.mark.parametrize("size", [0, 10, 100])
def test_generated_workload_stack_parses(module: str, size: int) -> None:
    raw = importlib.import_module(f"benchmarks.{module}").make_raw(size)
    config = parse(raw)
    assert len(config.training.jobs) + len(config.serving.endpoints) == size
