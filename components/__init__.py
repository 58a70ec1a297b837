"""Pulumi ComponentResources of the GPU platform and the pure data tables they share.

Components take typed arguments only: they never read `pulumi.Config` or the
environment (the stack config is read once, in `stacks/`).
"""
