"""Pulumi entry point: load the typed config, build the platform, export outputs."""

import sys

import pulumi

from infra.layers import build
from stacks.loader import ConfigError, load_pulumi

try:
    config = load_pulumi()
except ConfigError as err:
    # One readable message listing every problem, no traceback; nothing is registered.
    pulumi.log.error(err.render())
    sys.exit(2)

for key, value in build(config).items():
    pulumi.export(key, value)
