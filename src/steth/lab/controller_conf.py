"""The controller config (steth.conf) that points steth at a lab's agents, networks and services."""

from __future__ import annotations

import os

from . import tls as lab_tls
from .state import LabState
from .topology import AGENT_PORT
from .topology import build as build_topology


def config_path(state: LabState) -> str:
    return os.path.join(state.directory, "steth.conf")


def controller_config_text(state: LabState) -> str:
    topo = build_topology(state.lab, state.computes, state.cidrs)
    lines = [
        "# steth controller config for lab " + state.lab,
        "[DEFAULT]",
        f"agent_port = {AGENT_PORT}",
        f"token_file = {os.path.join(state.directory, 'token')}",
        "request_timeout = 5",
        "management_network = management",
        "",
        "[networks]",
    ]
    lines += [f"{net.name} = {net.cidr}" for net in topo.networks]
    lines += [
        "",
        "# VLANs the tenant trunk must carry (check vlan, check all)",
        "[vlans]",
        "tenant = 100-199",
        "",
        "# bandwidth each network must reach (check bandwidth, check all)",
        "[bandwidth]",
        "tenant = 1G",
        "",
        "[nodes]",
    ]
    lines += [f"{n.name} = {topo.address(n, topo.management)}" for n in topo.nodes]
    lines += lab_tls.config_lines(state)
    clouds = os.path.join(state.directory, "clouds.yaml")  # written by the Neutron lab (neutron/services.py)
    if state.extra.get("neutron") and os.path.exists(clouds):  # one export: STETH_CONFIG names the cloud too
        lines += ["", "[openstack]", f"cloud = steth-{state.lab}", f"clouds_file = {clouds}"]
    ovn = state.extra.get("neutron", {}).get("ovn")
    if ovn:  # the ML2/OVN lab: its NB and SB cluster members, as Neutron's [ovn] section names them
        lines += ["", "[ovn]"]
        lines += [f"{db}_connection = {','.join(m['tcp'] for m in ovn[db])}" for db in ("nb", "sb")]
    return "\n".join(lines) + "\n"


def write_controller_config(state: LabState) -> str:
    path = config_path(state)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(controller_config_text(state))
    return path
