"""The policy pack. Only the PolicyPack lives here: constructing it serves gRPC
and blocks forever, so no other module may import this one.

The engine runs the pack as ``python -m pulumi.policy <engine> .`` from this
directory, in the pack's own virtualenv (``policies/venv``), with this directory
first on ``sys.path``: ``guardrails`` is importable as it is, and it imports
nothing from outside this directory (its catalog facts are packaged in
``guardrails/data``), so ``pulumi policy publish`` can upload the directory alone.
"""

from guardrails.analyzer import install
from guardrails.pack import LEVEL, NAME, POLICIES
from pulumi_policy import PolicyPack

install()  # the stack is deserialized once per analysis, not once per stack policy (guardrails/analyzer.py)
PolicyPack(name=NAME, enforcement_level=LEVEL, policies=POLICIES)
