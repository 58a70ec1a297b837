"""Kueue's manager config: the ports other parts of the platform rely on, rendered as the chart wants it."""

import yaml

from components.kueue_config import helm_values, manager_config
from components.versions import KUEUE


def test_ports_the_platform_relies_on() -> None:
    # GKE's control-plane firewall opens 9443 (webhook) and the metrics scrape uses 8443;
    # a config that moved them would leave the webhook unreachable on private clusters.
    config = manager_config()
    assert config["webhook"]["port"] == 9443
    assert config["webhook"]["port"] in KUEUE.apiserver_ports
    assert config["metrics"]["bindAddress"] == ":8443"
    assert config["health"]["healthProbeBindAddress"] == ":8081"


def test_helm_value_is_the_config_as_one_yaml_document() -> None:
    rendered = helm_values(prometheus=False)["managerConfig"]["controllerManagerConfigYaml"]
    assert yaml.safe_load(rendered) == manager_config()
