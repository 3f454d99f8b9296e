"""Every `steth` command: its name as typed, and where its class lives ("module:Class" in this package).

Adding a command is one line in ``COMMANDS`` below, e.g.::

    "ovn show": "ovn:OvnShow",

and the class (a ``StethCommand``/``StethLister``/``StethShowOne`` from ``base``, with a docstring
whose first line is the summary `steth --help` shows) in ``commands/ovn.py``. Nothing else registers
it. A command's module is imported only when that command runs or its own help is asked for:
`steth --help` reads the summaries from the modules' source without importing them
(see ``controller/cli.py``), so `steth --help` and `steth lab ...` never load aiohttp, pydantic
or openstacksdk. A test checks that every entry loads and that its summary is its class's.

The original tool's command names are entries of their own pointing at the same class.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "agent list": "agents:AgentList",
    "print-agents-info": "agents:AgentList",
    "interface show": "interfaces:InterfaceShow",
    "get-interface": "interfaces:InterfaceShow",
    "ping": "ping:Ping",
    "check mesh": "check:CheckMesh",
    "check mtu": "check:CheckMtu",
    "check all": "check_all:CheckAll",
    "doctor": "doctor:Doctor",
    "capture": "capture:CaptureCommand",
    "ovs check-ports": "ovs:OvsCheckPorts",
    "check-ports-on-br": "ovs:OvsCheckPorts",
    "check vlan": "vlan:CheckVlan",
    "check-vlan-interface": "vlan:CheckVlanInterface",
    "link setup": "links:LinkSetup",
    "setup-link": "links:LinkSetup",
    "link teardown": "links:LinkTeardown",
    "teardown-link": "links:LinkTeardown",
    "link add-vlan": "links:LinkAddVlan",
    "add-vlan-to-interface": "links:LinkAddVlan",
    "check bandwidth": "bandwidth:CheckBandwidth",
    "check-iperf": "bandwidth:CheckIperf",
    "check dhcp": "check:CheckDhcp",
    "check-dhcp-on-comp": "check:CheckDhcpOnComp",
    "check-dhcp-on-network": "check:CheckDhcpOnNetwork",
    "ovs show": "ovs:OvsShow",
    "ovs trace": "ovs:OvsTrace",
    "port show": "openstack:PortShow",
    "neutron agent list": "openstack:NeutronAgentList",
    "lab up": "lab:LabUp",
    "lab down": "lab:LabDown",
    "lab status": "lab:LabStatus",
    "lab config": "lab:LabConfig",
    "lab agent": "lab:LabAgent",
    "lab demo": "lab:LabDemo",
    "lab fault add": "lab_fault:LabFaultAdd",
    "lab fault list": "lab_fault:LabFaultList",
    "lab fault kinds": "lab_fault:LabFaultKinds",
    "lab fault remove": "lab_fault:LabFaultRemove",
    "pki init": "pki:PkiInit",
    "pki issue": "pki:PkiIssue",
    "pki list": "pki:PkiList",
    "watch apply": "watch:WatchApply",
    "watch stop": "watch:WatchStop",
    "watch status": "watch:WatchStatusCmd",
    "ovn status": "ovn:OvnStatus",
    "ovn sync-check": "ovn:OvnSyncCheck",
    "ovn trace": "ovn:OvnTrace",
}
