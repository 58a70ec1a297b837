"""The GPU platform program: the gpu-platform package's entry point (config in Pulumi.<stack>.yaml)."""

import runpy

runpy.run_module("infra", run_name="__main__")
