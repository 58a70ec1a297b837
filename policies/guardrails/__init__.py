"""The GPU platform guardrails: every policy of the pack, importable by name in tests and by the pack's own
entry point (which runs with the pack directory first on sys.path, so this package imports only itself)."""
