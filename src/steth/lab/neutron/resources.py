"""The lab's Neutron API objects, made from the overlay plan and recorded as soon as each exists:
tenant networks and subnets, the external network, the router, the VMs' security group, floating IPs."""

from __future__ import annotations

from typing import Any

from .overlay import Overlay, OverlayNet
from .record import ExternalRecord, FloatingIPRecord, RouterRecord
from .services import Services


def _network(conn: Any, lab: str, net: OverlayNet) -> Any:
    kwargs: dict[str, Any] = {"name": net.name(lab), "provider_network_type": net.network_type}
    if net.physnet:
        kwargs["provider_physical_network"] = net.physnet
    if net.segment is not None:
        kwargs["provider_segmentation_id"] = net.segment
    if net.external:
        kwargs["is_router_external"] = True
    return conn.network.create_network(**kwargs)


def _subnet(conn: Any, lab: str, net: OverlayNet, network_id: str, dns: str) -> Any:
    kwargs: dict[str, Any] = {
        "name": net.subnet_name(lab),
        "network_id": network_id,
        "ip_version": 4,
        "cidr": net.cidr,
        "enable_dhcp": net.dhcp,
    }
    if net.gateway:
        kwargs["gateway_ip"] = net.gateway
    if net.pool:
        kwargs["allocation_pools"] = [{"start": net.pool[0], "end": net.pool[1]}]
    if net.dhcp:
        kwargs["dns_nameservers"] = [dns]
    return conn.network.create_subnet(**kwargs)


def tenant_networks(svc: Services, conn: Any, overlay: Overlay) -> None:
    """Every tenant network, then its subnet (DHCP, the internet's resolver as DNS)."""
    for net in overlay.tenant:
        svc.rec.networks[net.key] = _network(conn, overlay.lab, net).id
        svc.save()
    for net in overlay.tenant:
        svc.rec.subnets[net.key] = _subnet(conn, overlay.lab, net, svc.rec.networks[net.key], overlay.internet.dns).id
        svc.save()


def external(svc: Services, conn: Any, overlay: Overlay) -> None:
    """The flat external network (no DHCP: only routers and floating IPs live there)."""
    inet, net = overlay.internet, overlay.external
    ext = svc.rec.external or ExternalRecord(inet.gateway, inet.host, inet.tcp_port, inet.dns, inet.namespace)
    svc.rec.external = ext
    ext.network_id = _network(conn, overlay.lab, net).id
    svc.save()
    ext.subnet_id = _subnet(conn, overlay.lab, net, ext.network_id, inet.dns).id
    svc.save()


def router(svc: Services, conn: Any, overlay: Overlay) -> None:
    """A router with its gateway on the external network (SNAT) and an interface on each tenant subnet."""
    assert svc.rec.external is not None, "the external network comes first"
    r = conn.network.create_router(
        name=overlay.router_name, external_gateway_info={"network_id": svc.rec.external.network_id}
    )
    ips = (r.external_gateway_info or {}).get("external_fixed_ips") or [{}]
    svc.rec.router = RouterRecord(id=r.id, name=r.name, gateway_ip=ips[0].get("ip_address", ""))
    svc.save()
    for key in overlay.router_interfaces:
        conn.network.add_interface_to_router(r, subnet_id=svc.rec.subnets[key])


def security_group(svc: Services, conn: Any, overlay: Overlay) -> str:
    """The VMs' group: Neutron's default egress rules, plus ICMP and the planned TCP ports in from anywhere."""
    sg = conn.network.create_security_group(
        name=overlay.security_group_name, description="steth lab VMs: ICMP and SSH in"
    )
    svc.rec.security_group = sg.id
    svc.save()
    rule = {"security_group_id": sg.id, "direction": "ingress", "ether_type": "IPv4", "remote_ip_prefix": "0.0.0.0/0"}
    conn.network.create_security_group_rule(**rule, protocol="icmp")
    for port in overlay.security_group_ports:
        conn.network.create_security_group_rule(**rule, protocol="tcp", port_range_min=port, port_range_max=port)
    return sg.id


def floating_ips(svc: Services, conn: Any, overlay: Overlay) -> None:
    assert svc.rec.external is not None, "the external network comes first"
    for name in overlay.floating_ips:
        vm = svc.rec.vm(name)
        fip = conn.network.create_ip(floating_network_id=svc.rec.external.network_id, port_id=vm.port_id)
        svc.rec.floating_ips[name] = FloatingIPRecord(id=fip.id, address=fip.floating_ip_address, port_id=vm.port_id)
        svc.save()
