"""StackReferences answered offline: a team stack's platform stack is planned first, from its stack file."""

from infra.plan.engine import OFFLINE_STACKS, Capture, run_program
from stacks.loader import load_file, platform_stack_file
from stacks.model import PlatformConfig


def plan_referenced_platform(config: PlatformConfig) -> None:
    """Plan the platform stack ``config`` (a team stack) references and keep its outputs for the reference."""
    from infra.layers import build

    assert config.platform is not None
    platform = load_file(platform_stack_file(config))
    capture = run_program(lambda: build(platform), config.platform.stack_name)
    OFFLINE_STACKS[config.platform.stack] = (capture.outputs, list(capture.secret_outputs))


def plan_config(config: PlatformConfig, stack: str) -> Capture:
    """Plan a parsed stack config under the mock engine; a team stack's platform is planned first."""
    from infra.layers import build

    if config.platform is not None:
        plan_referenced_platform(config)
    return run_program(lambda: build(config), stack)
