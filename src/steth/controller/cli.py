"""The `steth` command: a cliff application; every command of the original steth keeps its name."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cliff.app import App
from cliff.commandmanager import CommandManager

from .. import __version__
from ..errors import EXIT_USAGE
from .commands import (
    agents,
    bandwidth,
    capture,
    check,
    check_all,
    doctor,
    interfaces,
    lab,
    links,
    openstack,
    ovn,
    ovs,
    ping,
    vlan,
)

# name -> command class; the original tool's names are aliases of the new ones.
COMMANDS = {
    "agent list": agents.AgentList,
    "print-agents-info": agents.AgentList,
    "interface show": interfaces.InterfaceShow,
    "get-interface": interfaces.InterfaceShow,
    "ping": ping.Ping,
    "check mesh": check.CheckMesh,
    "check mtu": check.CheckMtu,
    "check all": check_all.CheckAll,
    "doctor": doctor.Doctor,
    "capture": capture.CaptureCommand,
    "ovs check-ports": ovs.OvsCheckPorts,
    "check-ports-on-br": ovs.OvsCheckPorts,
    "check vlan": vlan.CheckVlan,
    "check-vlan-interface": vlan.CheckVlanInterface,
    "link setup": links.LinkSetup,
    "setup-link": links.LinkSetup,
    "link teardown": links.LinkTeardown,
    "teardown-link": links.LinkTeardown,
    "link add-vlan": links.LinkAddVlan,
    "add-vlan-to-interface": links.LinkAddVlan,
    "check bandwidth": bandwidth.CheckBandwidth,
    "check-iperf": bandwidth.CheckIperf,
    "check dhcp": check.CheckDhcp,
    "check-dhcp-on-comp": check.CheckDhcpOnComp,
    "check-dhcp-on-network": check.CheckDhcpOnNetwork,
    "ovs show": ovs.OvsShow,
    "ovs trace": ovs.OvsTrace,
    "port show": openstack.PortShow,
    "neutron agent list": openstack.NeutronAgentList,
    "ovn status": ovn.OvnStatus,
    "ovn sync-check": ovn.OvnSyncCheck,
    "ovn trace": ovn.OvnTrace,
    "lab up": lab.LabUp,
    "lab down": lab.LabDown,
    "lab status": lab.LabStatus,
    "lab config": lab.LabConfig,
    "lab agent": lab.LabAgent,
    "lab demo": lab.LabDemo,
    "lab fault add": lab.LabFaultAdd,
    "lab fault list": lab.LabFaultList,
    "lab fault kinds": lab.LabFaultKinds,
    "lab fault remove": lab.LabFaultRemove,
}

DESCRIPTION = """Network inspection and diagnosis for OpenStack.

steth asks the steth-agent on every node to probe the network and turns the
answers into verdicts. Exit status: 0 all ok, 1 a check found a problem,
2 usage or configuration error, 3 an agent needed for the answer was unreachable.

Start with `steth lab demo` (builds a simulated cloud on this machine), or
write /etc/steth/steth.conf ([nodes], [networks]) and run `steth agent list`."""


class StethApp(App):
    def __init__(self) -> None:
        manager = CommandManager("steth.cli")
        for name, cls in COMMANDS.items():
            manager.add_command(name, cls)
        super().__init__(description=DESCRIPTION, version=__version__, command_manager=manager, deferred_help=True)

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser.add_argument(
            "--config-file",
            metavar="PATH",
            default=None,
            help="controller config (default: $STETH_CONFIG or /etc/steth/steth.conf)",
        )
        return parser

    def run(self, argv: Sequence[str]) -> int:
        if not argv:  # no interactive shell: a script without arguments should not hang
            self.stdout.write(
                f"usage: steth [--config-file PATH] COMMAND ...\n"
                f"commands: {', '.join(sorted(COMMANDS))}\n"
                f"`steth help` or `steth help COMMAND` for more\n"
            )
            return EXIT_USAGE
        return super().run(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return StethApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
