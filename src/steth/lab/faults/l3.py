"""Fault kinds of the lab's router: the L3 agent's router, its external gateway, interfaces, NAT, floating IPs."""

from __future__ import annotations

import os
import time
from typing import Any

from ...errors import LabError, UsageError
from ...host import proc, undo
from . import neutron_undo
from .neutron_base import api, claim, conn, lab_vm, neutron_network, neutron_rec, router_rec
from .registry import FaultContext, kind

NAT_CHAINS = ("neutron-l3-agent-snat", "neutron-l3-agent-float-snat")  # every rule of these
DNAT_CHAINS = ("neutron-l3-agent-PREROUTING", "neutron-l3-agent-OUTPUT")  # their -j DNAT rules


def nat_rules(save: str) -> list[tuple[str, int, str]]:
    """The L3 agent's NAT rules in ``iptables-save -t nat`` output: (chain, 1-based position in the
    chain, rule spec after the chain name), in order. SNAT: every rule of the snat and float-snat
    chains; DNAT: the floating IPs' rules in the agent's PREROUTING and OUTPUT chains."""
    in_nat, seen, found = False, dict[str, int](), list[tuple[str, int, str]]()
    for line in save.splitlines():
        if line.startswith("*"):
            in_nat = line.strip() == "*nat"
            continue
        if not in_nat or not line.startswith("-A "):
            continue
        chain, _, spec = line[3:].partition(" ")
        seen[chain] = seen.get(chain, 0) + 1
        if chain in NAT_CHAINS or (chain in DNAT_CHAINS and " -j DNAT" in f" {spec}"):
            found.append((chain, seen[chain], spec))
    return found


def nat_delete_script(rules: list[tuple[str, int, str]]) -> str:
    """iptables-restore --noflush input deleting exactly these rules."""
    return "*nat\n" + "".join(f"-D {chain} {spec}\n" for chain, _, spec in rules) + "COMMIT\n"


def nat_restore_script(rules: list[tuple[str, int, str]]) -> str:
    """iptables-restore --noflush input putting the rules back where they were: inserted at their old
    positions in ascending order, each position is right once the rules before it are back."""
    ordered = sorted(rules, key=lambda r: (r[0], r[1]))
    return "*nat\n" + "".join(f"-I {chain} {pos} {spec}\n" for chain, pos, spec in ordered) + "COMMIT\n"


def release_fips(ctx: FaultContext, net: Any, router_id: str, subnet_id: str | None = None) -> list[str]:
    """Disassociate the floating IPs that hold the router's gateway (or an interface on ``subnet_id``):
    Neutron refuses to remove either while a floating IP uses it. Re-associated last on undo."""
    released = []
    for fip in api("listing floating IPs", net.ips, router_id=router_id):
        if not fip.port_id:
            continue
        if subnet_id is not None:
            port = api(f"reading port {fip.port_id}", net.get_port, fip.port_id)
            if not any(ip["subnet_id"] == subnet_id for ip in port.fixed_ips):
                continue
        ctx.record(
            neutron_undo.step(
                ctx.state, "update_ip", fip.id, port_id=fip.port_id, fixed_ip_address=fip.fixed_ip_address
            )
        )
        api(f"disassociating floating IP {fip.floating_ip_address}", net.update_ip, fip.id, port_id=None)
        released.append(fip.floating_ip_address)
    return released


def _released(fips: list[str]) -> str:
    return f" (floating IP {', '.join(fips)} disassociated first: Neutron requires it)" if fips else ""


@kind(
    "router-gateway-removed",
    "clear the lab router's external gateway (no SNAT, no floating IPs; those on it are disassociated first)",
    params=(),
    area="neutron",
)
def _router_gateway_removed(ctx: FaultContext) -> str:
    router_id = router_rec(ctx).id
    net = conn(ctx).network
    router = api(f"reading router {router_id}", net.get_router, router_id)
    gw = router.external_gateway_info or {}
    if not gw.get("network_id"):
        raise UsageError(f"router {router.name} has no external gateway to remove")
    again: dict[str, Any] = {"network_id": gw["network_id"]}
    if gw.get("external_fixed_ips"):  # the same address back, so the lab's records stay true
        again["external_fixed_ips"] = [
            {"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]} for ip in gw["external_fixed_ips"]
        ]
    if "enable_snat" in gw:
        again["enable_snat"] = gw["enable_snat"]
    fips = release_fips(ctx, net, router_id)
    ctx.record(neutron_undo.step(ctx.state, "update_router", router_id, external_gateway_info=again))
    api(f"clearing the gateway of router {router.name}", net.update_router, router_id, external_gateway_info={})
    addrs = ",".join(ip["ip_address"] for ip in again.get("external_fixed_ips", [])) or "?"
    return f"router {router.name}: external gateway {addrs} on network {gw['network_id']} removed{_released(fips)}"


@kind(
    "subnet-detached",
    "remove the lab router's interface on a tenant subnet (--network vlan|vxlan): its VMs lose their gateway",
    params=("network",),
    area="neutron",
)
def _subnet_detached(ctx: FaultContext) -> str:
    router_id = router_rec(ctx).id
    network_id = neutron_network(ctx)
    net = conn(ctx).network
    subnet_id = neutron_rec(ctx).subnets.get(ctx.params["network"])
    if not subnet_id:
        subnets = list(api(f"listing subnets of {network_id}", net.subnets, network_id=network_id))
        if not subnets:
            raise LabError(f"network {network_id} has no subnet")
        subnet_id = subnets[0].id
    attached = [
        p
        for p in api("listing router interfaces", net.ports, device_id=router_id)
        if any(ip["subnet_id"] == subnet_id for ip in p.fixed_ips)
    ]
    if not attached:
        raise UsageError(f"subnet {subnet_id} ({ctx.params['network']}) is not attached to the router")
    address = next(ip["ip_address"] for ip in attached[0].fixed_ips if ip["subnet_id"] == subnet_id)
    fips = release_fips(ctx, net, router_id, subnet_id)
    ctx.record(neutron_undo.step(ctx.state, "add_interface_to_router", router_id, subnet_id=subnet_id))
    api(
        f"removing subnet {subnet_id} from router {router_id}",
        net.remove_interface_from_router,
        router_id,
        subnet_id=subnet_id,
    )
    return (
        f"router {router_id}: interface {address} on subnet {subnet_id} ({ctx.params['network']}) "
        f"removed{_released(fips)}"
    )


@kind(
    "fip-disassociated",
    "disassociate a VM's floating IP (the internet no longer reaches it)",
    params=("vm",),
    area="neutron",
)
def _fip_disassociated(ctx: FaultContext) -> str:
    vm = lab_vm(ctx)
    fips = neutron_rec(ctx).floating_ips
    if vm.name not in fips:
        raise UsageError(f"{vm.name} has no floating IP", f"VMs with one: {', '.join(sorted(fips)) or 'none'}")
    net = conn(ctx).network
    fip = api(f"reading floating IP {fips[vm.name].id}", net.get_ip, fips[vm.name].id)
    if not fip.port_id:
        raise UsageError(f"floating IP {fip.floating_ip_address} is not associated")
    ctx.record(
        neutron_undo.step(ctx.state, "update_ip", fip.id, port_id=fip.port_id, fixed_ip_address=fip.fixed_ip_address)
    )
    api(f"disassociating floating IP {fip.floating_ip_address}", net.update_ip, fip.id, port_id=None)
    return f"{vm.name}: floating IP {fip.floating_ip_address} disassociated from {fip.fixed_ip_address}"


NAT_SETTLE_S = 1.5  # two reads of the router's NAT table this far apart, equal: the L3 agent is not changing it
NAT_RECHECKS = 5


def _nat_now(ns: str) -> list[tuple[str, int, str]]:
    save = proc.run(["iptables-save", "-t", "nat"], netns=ns, timeout=30)
    if save.returncode != 0:
        raise LabError(
            f"iptables-save in {ns} failed: {save.stderr.strip()}",
            "is the L3 agent up and the router built? see `steth lab status`",
        )
    return nat_rules(save.stdout)


def _settled_nat(ns: str, tries: int = 12) -> list[tuple[str, int, str]]:
    """The L3 agent's NAT rules in ``ns`` once two reads NAT_SETTLE_S apart agree (LabError when none)."""
    rules = _nat_now(ns)
    for _ in range(tries):
        time.sleep(NAT_SETTLE_S)
        again = _nat_now(ns)
        if again == rules:
            break
        rules = again
    if not rules:
        raise LabError(f"no L3 agent NAT rules in {ns}", "the router has no gateway or the agent has not built it")
    return rules


@kind(
    "nat-removed",
    "delete the L3 agent's SNAT and floating IP NAT rules in the router's namespace (saved; put back "
    "at their places on removal)",
    params=(),
    area="neutron",
)
def _nat_removed(ctx: FaultContext) -> str:
    router_id = router_rec(ctx).id
    ns = f"qrouter-{router_id}"
    claim(ctx, f"{ns} NAT")
    # the L3 agent may still be applying an earlier change of the router (a floating IP re-associated a
    # moment ago): it would put the rules back behind the fault's back, so wait until its NAT is settled
    rules = _settled_nat(ns)
    saved = os.path.join(ctx.state.directory, f"nat-{ctx.fault['id']}.rules")
    ctx.record(undo.path(saved))
    with open(saved, "w") as fh:
        fh.write(nat_restore_script(rules))
    ctx.record(undo.argv(["iptables-restore", "--noflush", saved], ns))
    ctx.run(["iptables-restore", "--noflush"], ns, input=nat_delete_script(rules))
    # NAT is decided per connection: without this, flows already NATed would go on as before
    ctx.run(["conntrack", "-F"], ns)
    for _ in range(NAT_RECHECKS):  # the agent finishing an update it had begun puts rules back: take them again
        time.sleep(NAT_SETTLE_S)
        back = _nat_now(ns)
        if not back:
            break
        ctx.run(["iptables-restore", "--noflush"], ns, input=nat_delete_script(back))
        ctx.run(["conntrack", "-F"], ns)
    else:
        raise LabError(f"the L3 agent keeps putting the NAT rules of {ns} back", "see its log; try again later")
    snat = sum(1 for r in rules if r[0] in NAT_CHAINS)
    return (
        f"router {router_id}: {snat} SNAT and {len(rules) - snat} DNAT rules deleted in {ns} "
        f"(saved in {saved}); conntrack flushed"
    )
