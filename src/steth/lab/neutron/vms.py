"""Lab VMs, whatever the backend: the namespace, the Neutron port, and the DHCP lease (busybox udhcpc).

The address is set by this module with netlink from the lease; the host's resolv.conf is never touched.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from ...errors import LabError
from ...host import netlink
from .. import namespaces
from .overlay import Overlay
from .record import VMRecord
from .services import Services, env, wait

PORT_ACTIVE_TIMEOUT = 90.0


def parse_lease(line: str) -> dict[str, str] | None:
    """The udhcpc report line ``LEASE ip=.. mask=.. serverid=.. router=.. dns=..`` as a dict.

    udhcpc passes lists (several routers or DNS servers) space-separated; only the first of each is kept.
    """
    if not line.startswith("LEASE "):
        return None
    out: dict[str, str] = {}
    key = ""
    for item in line.split()[1:]:
        if "=" in item:
            key, value = item.split("=", 1)
            out[key] = value
        elif key and not out[key]:
            out[key] = item
    return out


def static_routes(text: str) -> list[tuple[str, str]]:
    """Host and network routes of DHCP option 121 (``dst,via,dst,via``), the default route left out."""
    items = [x for x in text.split(",") if x]
    pairs = list(zip(items[0::2], items[1::2], strict=False))
    return [(dst, via) for dst, via in pairs if not dst.startswith("0.0.0.0/")]


def create_ports(svc: Services, conn: Any, overlay: Overlay) -> None:
    """A Neutron port per planned VM, bound to its node, in the lab's security group (recorded one by one)."""
    for plan in overlay.vms:
        port = conn.network.create_port(
            name=f"{overlay.lab}-{plan.name}",
            network_id=svc.rec.networks[plan.network],
            binding_host_id=plan.node,
            device_owner="compute:nova",
            device_id=str(uuid.uuid4()),
            security_group_ids=[svc.rec.security_group],
        )
        svc.rec.vms.append(
            VMRecord(
                name=plan.name,
                node=plan.node,
                network=plan.network,
                plug=plan.plug,
                port_id=port.id,
                mac=port.mac_address,
                device_id=port.device_id,
                fixed_ip=port.fixed_ips[0]["ip_address"],
                namespace=overlay.vm_namespace(plan.name),
            )
        )
        svc.save()


def create_namespace(svc: Services, vm: VMRecord) -> None:
    namespaces.create(svc.state, vm.namespace)


def udhcpc_script(svc: Services) -> str:
    """busybox udhcpc hook that only reports the lease; this module sets the address itself."""
    path = svc.path("udhcpc-report")
    svc.write(
        path,
        '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE ip=$ip mask=$mask serverid=$serverid router=$router '
        "dns=$dns staticroutes=$(echo $staticroutes | tr ' ' ,)\"\nexit 0\n",
    )
    os.chmod(path, 0o755)
    return path


def lease(svc: Services, vm: VMRecord, script: str, timeout: float = 40) -> None:
    """DHCP in the VM namespace with busybox udhcpc (retries until ``timeout``); address and route from it."""
    deadline = time.monotonic() + timeout
    last = ""
    udhcpc = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "2", "-O", "staticroutes"]
    udhcpc += ["-s", script]
    while time.monotonic() < deadline:
        done = subprocess.run(
            ["ip", "netns", "exec", vm.namespace, *udhcpc],
            capture_output=True,
            text=True,
            timeout=30,
            env=env(svc.dir),
        )
        for line in done.stdout.splitlines():
            kv = parse_lease(line)
            if kv:
                prefix = ipaddress.ip_network(f"0.0.0.0/{kv.get('mask') or 24}").prefixlen
                with netlink.iproute(vm.namespace) as ipr:
                    idx = ipr.link_lookup(ifname="eth0")[0]
                    ipr.addr("replace", index=idx, address=kv["ip"], prefixlen=prefix)
                    if kv.get("router"):  # the subnet's gateway: the Neutron router's interface
                        ipr.route("replace", dst="0.0.0.0/0", gateway=kv["router"], oif=idx)
                    for dst, via in static_routes(kv.get("staticroutes", "")):  # OVN: 169.254.169.254/32
                        ipr.route("replace", dst=dst, gateway=via, oif=idx)
                vm.lease_ip = kv["ip"]
                vm.dhcp_server = kv.get("serverid", "")
                vm.router = kv.get("router", "")
                vm.dns = kv.get("dns", "")
                svc.save()
                return
        last = ((done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"])[0]
    raise LabError(f"{vm.name} got no DHCP lease on the {vm.network} network: {last}", f"see {svc.logs}")


def port_active(conn: Any, port_id: str) -> bool:
    return conn.network.get_port(port_id).status == "ACTIVE"


def plug_and_lease(
    svc: Services,
    conn: Any,
    plug_vm: Callable[[VMRecord], None],
    step: Callable[[str], None],
    dhcp: str = "DHCP leases",
) -> None:
    """Every VM of the lab: its namespace, plugged the backend's way (``plug_vm``), its port ACTIVE in
    Neutron, then a lease from the network's DHCP (all VMs at once)."""
    for vm in svc.rec.vms:
        create_namespace(svc, vm)
        plug_vm(vm)
        svc.save()
    step("waiting for the VMs' ports to become ACTIVE")
    for vm in svc.rec.vms:
        wait(f"port of {vm.name} ACTIVE", partial(port_active, conn, vm.port_id), PORT_ACTIVE_TIMEOUT, log=svc.logs)
    step(dhcp)
    script = udhcpc_script(svc)
    with ThreadPoolExecutor(max_workers=len(svc.rec.vms) or 1) as pool:
        for f in [pool.submit(lease, svc, vm, script) for vm in svc.rec.vms]:
            f.result()
