"""`ovn sync-check` for routers (Logical_Router, ports, NAT, gateway chassis) and security groups
(Port_Group and ACLs): Neutron against the NB and SB, drift named row by row."""

from __future__ import annotations

from typing import Any

from ...openstack.ovn_model import NbSnapshot, SbSnapshot
from ...wire.models import Verdict
from .ovn_sync import ROUTER_OWNERS, Drift, NeutronView, pg_name


def routers(neutron: NeutronView, nb: NbSnapshot, sb: SbSnapshot) -> list[Drift]:
    out: list[Drift] = []
    ports_by_router: dict[str, list[dict[str, Any]]] = {}
    for p in neutron.ports:
        if (p.get("device_owner") or "").startswith(ROUTER_OWNERS):
            ports_by_router.setdefault(p.get("device_id") or "", []).append(p)
    for r in neutron.routers:
        lr = nb.routers.get(f"neutron-{r['id']}")
        if lr is None:
            out.append(
                Drift(
                    "router", r["id"], "nb-router", Verdict.FAIL, r.get("name") or "router", "no Logical_Router in NB"
                )
            )
            continue
        for p in ports_by_router.get(r["id"], []):
            lrp = nb.router_ports.get(f"lrp-{p['id']}")
            if lrp is None or lrp.router != lr.name:
                out.append(
                    Drift(
                        "router",
                        r["id"],
                        "nb-router-port",
                        Verdict.FAIL,
                        f"port {p['id']} ({p['device_owner']})",
                        f"no lrp-{p['id']} on {lr.name}",
                    )
                )
                continue
            if p["device_owner"] == "network:router_gateway":
                if not lrp.gateway_chassis:
                    out.append(
                        Drift(
                            "router",
                            r["id"],
                            "gateway-chassis",
                            Verdict.FAIL,
                            "external gateway set",
                            f"lrp-{p['id']} has no Gateway_Chassis",
                        )
                    )
                elif not any(g.chassis_name in sb.chassis for g in lrp.gateway_chassis):
                    names = ", ".join(g.chassis_name for g in lrp.gateway_chassis)
                    out.append(
                        Drift(
                            "router",
                            r["id"],
                            "gateway-chassis",
                            Verdict.FAIL,
                            "external gateway set",
                            f"gateway chassis {names} not in SB",
                        )
                    )
        info = r.get("external_gateway_info") or {}
        if info and info.get("enable_snat", True):
            snat = {n.logical_ip for n in lr.nat if n.type == "snat"}
            for p in ports_by_router.get(r["id"], []):
                if p["device_owner"] != "network:router_interface":
                    continue
                for ip in p.get("fixed_ips") or []:
                    cidr = next((s["cidr"] for s in neutron.subnets if s["id"] == ip["subnet_id"]), None)
                    if cidr and cidr not in snat and ":" not in cidr:
                        out.append(
                            Drift(
                                "router",
                                r["id"],
                                "nb-snat",
                                Verdict.FAIL,
                                f"SNAT for {cidr}",
                                f"no snat NAT row for {cidr} on {lr.name}",
                            )
                        )
    for f in neutron.floating_ips:
        if not f.get("port_id") or not f.get("router_id"):
            continue
        lr = nb.routers.get(f"neutron-{f['router_id']}")
        nat = [
            n for n in (lr.nat if lr else ()) if n.type == "dnat_and_snat" and n.external_ip == f["floating_ip_address"]
        ]
        if not nat:
            out.append(
                Drift(
                    "floatingip",
                    f["id"],
                    "nb-nat",
                    Verdict.FAIL,
                    f"{f['floating_ip_address']} -> {f.get('fixed_ip_address')} (port {f['port_id']})",
                    f"no dnat_and_snat NAT row for {f['floating_ip_address']}",
                )
            )
        elif nat[0].logical_ip != f.get("fixed_ip_address"):
            out.append(
                Drift(
                    "floatingip",
                    f["id"],
                    "nb-nat",
                    Verdict.FAIL,
                    f"to {f.get('fixed_ip_address')}",
                    f"NAT to {nat[0].logical_ip}",
                )
            )
    return out


def security_groups(neutron: NeutronView, nb: NbSnapshot) -> list[Drift]:
    out: list[Drift] = []
    members: dict[str, set[str]] = {}
    for p in neutron.ports:
        for sg in p.get("security_group_ids") or []:
            members.setdefault(sg, set()).add(p["id"])
    for sg in neutron.security_groups:
        pg = nb.port_groups.get(pg_name(sg["id"]))
        if pg is None:
            out.append(
                Drift(
                    "security-group",
                    sg["id"],
                    "nb-port-group",
                    Verdict.FAIL,
                    sg.get("name") or "group",
                    f"no Port_Group {pg_name(sg['id'])}",
                )
            )
            continue
        missing = sorted(
            members.get(sg["id"], set())
            - set(pg.ports)
            - {p for p in members.get(sg["id"], set()) if p not in nb.ports}
        )
        if missing:
            out.append(
                Drift(
                    "security-group",
                    sg["id"],
                    "pg-ports",
                    Verdict.FAIL,
                    f"ports {', '.join(missing)}",
                    f"not in {pg.name}",
                )
            )
        rule_acls = {a.external_ids.get("neutron:security_group_rule_id") for a in pg.acls}
        lost = [r["id"] for r in sg.get("security_group_rules") or [] if r["id"] not in rule_acls]
        if lost:
            out.append(
                Drift(
                    "security-group",
                    sg["id"],
                    "acls",
                    Verdict.FAIL,
                    f"rules {', '.join(lost)}",
                    f"no ACL in {pg.name} for them",
                )
            )
    return out
