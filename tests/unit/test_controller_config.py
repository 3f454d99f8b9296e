import ipaddress

import pytest

from steth.controller.config import load
from steth.controller.inventory import addresses_by_network, resolve_node, select_nodes
from steth.errors import ConfigError, UnknownAgentError
from steth.wire.models import Address, AgentInfo, Capabilities, Interface

GOOD = """
[DEFAULT]
agent_port = 9700
token_file = {token}
request_timeout = 2.5

[networks]
management = 10.1.0.0/24
tenant = 10.2.0.0/24
storage = fd10::/64

[nodes]
network = 10.1.0.10
Compute-1 = 10.1.0.11:9800
compute-2 = [fd10::5]:9801
compute-3 = fd10::6

[tls]
enabled = true
verify = false
"""


def write(tmp_path, text):
    token = tmp_path / "token"
    token.write_text("t" * 32 + "\n")
    path = tmp_path / "steth.conf"
    path.write_text(text.format(token=token))
    return str(path)


def test_loads_nodes_networks_and_tls(tmp_path):
    cfg = load(write(tmp_path, GOOD))
    assert cfg.request_timeout == 2.5 and cfg.tls.enabled and not cfg.tls.verify
    assert cfg.networks["storage"] == ipaddress.ip_network("fd10::/64")
    assert cfg.nodes["network"].port == 9700 and cfg.nodes["network"].url == "10.1.0.10:9700"
    assert cfg.nodes["Compute-1"].port == 9800  # names keep their case
    assert cfg.nodes["compute-2"].url == "[fd10::5]:9801"
    assert cfg.nodes["compute-3"].host == "fd10::6" and cfg.nodes["compute-3"].port == 9700
    assert cfg.token() == "t" * 32


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(str(tmp_path / "nope.conf"))
    assert "not found" in exc.value.message and "steth lab config" in exc.value.hint


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[networks]\nmgmt = 10.1.0.0/33\n[nodes]\na = 10.1.0.1\n", "bad CIDR"),
        ("[networks]\nmanagement = 10.1.0.0/24\n", "lists no nodes"),
        ("[nodes]\na = 10.1.0.1:99999\n", "out of range"),
        ("[nodes]\na = 10.1.0.1:http\n", "not a number"),
        ("[DEFAULT]\nrequest_timeout = fast\n[nodes]\na = 10.1.0.1\n", "request_timeout"),
        (
            "[DEFAULT]\nmanagement_network = mgmt\n[networks]\nmanagement = 10.1.0.0/24\n[nodes]\na = 10.1.0.1\n",
            "management_network",
        ),
        ("[neutron]\nnetwork_vlan_ranges = physnet1:100\n[nodes]\na = 10.1.0.1\n", "network_vlan_ranges"),
        ("[neutron]\nphysnet_networks = physnet1\n[nodes]\na = 10.1.0.1\n", "not PHYSNET:NETWORK"),
        ("[neutron]\nphysnet_networks = physnet1:nowhere\n[nodes]\na = 10.1.0.1\n", "not in [networks]"),
        ("[DEFAULT]\ndiscovery_address = {{ip}}\n[nodes]\na = 10.1.0.1\n", "bad placeholder"),
        ("[DEFAULT]\ndiscovery_address = 10.0.0.1\n[nodes]\na = 10.1.0.1\n", "names neither"),
    ],
)
def test_bad_values_are_named(tmp_path, text, needle):
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, text))
    assert needle in str(exc.value)


def test_token_file_problems(tmp_path):
    path = tmp_path / "c.conf"
    path.write_text(f"[DEFAULT]\ntoken_file = {tmp_path}/missing\n[nodes]\na = 10.1.0.1\n")
    with pytest.raises(ConfigError, match="cannot read token file"):
        load(str(path)).token()
    (tmp_path / "short").write_text("abc")
    path.write_text(f"[DEFAULT]\ntoken_file = {tmp_path}/short\n[nodes]\na = 10.1.0.1\n")
    with pytest.raises(ConfigError, match="shorter than 16"):
        load(str(path)).token()


def test_unknown_agent_lists_known_ones(tmp_path):
    cfg = load(write(tmp_path, GOOD))
    assert resolve_node(cfg, "network").host == "10.1.0.10"
    with pytest.raises(UnknownAgentError) as exc:
        resolve_node(cfg, "compute-9")
    assert "compute-9" in exc.value.message and "compute-2" in exc.value.hint
    assert [n.name for n in select_nodes(cfg, ["compute-2", "network"])] == ["compute-2", "network"]
    assert len(select_nodes(cfg, None)) == 4


def test_addresses_are_matched_to_networks(tmp_path):
    cfg = load(write(tmp_path, GOOD))
    iface = Interface(
        name="eth0",
        index=2,
        kind="veth",
        state="up",
        admin_up=True,
        mtu=1500,
        addresses=[
            Address(family=4, address="10.1.0.11", prefixlen=24),
            Address(family=4, address="10.2.0.11", prefixlen=24),
            Address(family=6, address="fd10::11", prefixlen=64),
            Address(family=4, address="192.168.9.9", prefixlen=24),
        ],
    )
    info = AgentInfo(
        hostname="c1",
        version="0",
        interfaces=[iface],
        capabilities=Capabilities(openvswitch=False, vlan_8021q=False, iperf3=True, raw_sockets=True),
    )
    assert addresses_by_network(cfg, info) == {
        "management": ["10.1.0.11"],
        "tenant": ["10.2.0.11"],
        "storage": ["fd10::11"],
    }


def test_neutron_vlan_ranges_and_discovery_settings(tmp_path):
    text = (
        "[DEFAULT]\nagent_port = 9701\ndiscovery_address = {{host}}.mgmt\n[networks]\nmanagement = 10.1.0.0/24\n"
        "tenant = 10.2.0.0/24\n[neutron]\nglobal_physnet_mtu = 9000\n"
        "network_vlan_ranges = physnet1:100:101,physnet2\nphysnet_networks = physnet1:tenant\n"
    )
    cfg = load(write(tmp_path, text), require_nodes=False)
    assert cfg.nodes == {} and cfg.agent_port == 9701 and cfg.discovery_address == "{host}.mgmt"
    assert cfg.neutron_vlans == {"physnet1": [100, 101], "physnet2": []}
    assert cfg.physnet_networks == {"physnet1": "tenant"} and cfg.neutron_mtu == {"global_physnet_mtu": 9000}
    with pytest.raises(ConfigError, match="lists no nodes"):
        load(write(tmp_path, text))
