"""The policy pack. Only the PolicyPack lives here: constructing it serves gRPC
and blocks forever, so no other module may import this one."""

import sys
from pathlib import Path

# The engine runs the pack as `python -m pulumi.policy <engine> .` from this
# directory, in the pack's own virtualenv (policies/venv) where the project is
# not installed. Putting the project root on the path lets `policies.*` and the
# pure-data `components` modules import there exactly as they do in tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policies.pack import LEVEL, NAME, POLICIES

PolicyPack(name=NAME, enforcement_level=LEVEL, policies=POLICIES)
