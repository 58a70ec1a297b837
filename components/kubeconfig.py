"""Kubeconfigs that authenticate through a cloud CLI plugin (exec), never with static credentials."""

import json
from typing import Any


def exec_kubeconfig(name: str, server: str, ca_data: str, exec_config: dict[str, Any]) -> str:
    """One cluster, one context, one user whose token comes from ``exec_config``'s command."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", **exec_config}},
                }
            ],
        },
        sort_keys=True,
    )
