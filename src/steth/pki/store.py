"""A PKI directory: where each file lives, written with the right modes, never overwritten by accident.

Layout (DIR defaults to /etc/steth/pki)::

    DIR/ca.pem  DIR/ca.key                 the CA (keep ca.key on the controller, or offline)
    DIR/nodes/NAME.pem  DIR/nodes/NAME.key  one server certificate per node (copied to that node)
    DIR/client.pem  DIR/client.key          the controller's client certificate

Keys are 0600, certificates 0644, directories 0755. Every file is written under a temporary
name and renamed into place, so a failure never leaves half a key behind.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import ConfigError, UsageError
from . import certs

DEFAULT_DIR = "/etc/steth/pki"
_NODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(frozen=True)
class Layout:
    directory: str

    @property
    def ca_cert(self) -> str:
        return os.path.join(self.directory, "ca.pem")

    @property
    def ca_key(self) -> str:
        return os.path.join(self.directory, "ca.key")

    @property
    def client_cert(self) -> str:
        return os.path.join(self.directory, "client.pem")

    @property
    def client_key(self) -> str:
        return os.path.join(self.directory, "client.key")

    def node_cert(self, name: str) -> str:
        return os.path.join(self.directory, "nodes", f"{name}.pem")

    def node_key(self, name: str) -> str:
        return os.path.join(self.directory, "nodes", f"{name}.key")

    def nodes(self) -> list[str]:
        d = os.path.join(self.directory, "nodes")
        try:
            return sorted(f[:-4] for f in os.listdir(d) if f.endswith(".pem"))
        except FileNotFoundError:
            return []


def check_node_name(name: str) -> str:
    if not _NODE_RE.fullmatch(name) or not certs.is_dns_name(name):
        raise UsageError(
            f"node name {name!r} cannot name a certificate",
            "use letters, digits, '.', '-' and '_' (at most 63), as in the controller config's [nodes]",
        )
    return name


def identity(name: str, addresses: list[str]) -> certs.Identity:
    """The Identity of node ``name``: each of ``addresses`` is an IP address or another DNS name."""
    check_node_name(name)
    ips: list[certs.Address] = []
    dns: list[str] = []
    for text in addresses:
        try:
            value = certs.parse_address_or_name(text)
        except ValueError as exc:
            raise UsageError(f"node {name}: {exc}", "give its management addresses, e.g. 10.0.0.11") from None
        if isinstance(value, str):
            dns.append(value)
        elif value not in ips:
            ips.append(value)
    return certs.Identity(name=name, dns_names=tuple(dns), addresses=tuple(ips))


def _write(path: str, data: bytes, mode: int) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away (never added any)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _refuse_existing(paths: list[str], force: bool) -> None:
    if force:
        return
    existing = [p for p in paths if os.path.lexists(p)]
    if existing:
        raise UsageError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}",
            "pass --force to replace (agents and controller then need the new files), or use another --dir",
        )


def _mkdirs(layout: Layout) -> None:
    for d in (layout.directory, os.path.join(layout.directory, "nodes")):
        os.makedirs(d, mode=0o755, exist_ok=True)


def _save_pair(cert_path: str, key_path: str, key: object, cert: object) -> None:
    _write(key_path, certs.key_pem(key), 0o600)  # type: ignore[arg-type]
    _write(cert_path, certs.cert_pem(cert), 0o644)  # type: ignore[arg-type]


def init(directory: str, nodes: dict[str, list[str]], *, force: bool = False, days: int = certs.LEAF_DAYS) -> Layout:
    """A new CA, a certificate per node in ``nodes`` (name -> addresses) and the controller's client
    certificate. Refuses (UsageError, nothing written) when any of those files exists, unless ``force``."""
    layout = Layout(directory)
    identities = [identity(n, a) for n, a in sorted(nodes.items())]
    planned = [layout.ca_cert, layout.ca_key, layout.client_cert, layout.client_key]
    for who in identities:
        planned += [layout.node_cert(who.name), layout.node_key(who.name)]
    _refuse_existing(planned, force)
    try:
        _mkdirs(layout)
        ca_key, ca_cert = certs.make_ca()
        _save_pair(layout.ca_cert, layout.ca_key, ca_key, ca_cert)
        key, cert = certs.issue(
            ca_key, ca_cert, certs.Identity(certs.CLIENT_NAME), server=False, client=True, days=days
        )
        _save_pair(layout.client_cert, layout.client_key, key, cert)
        for who in identities:
            key, cert = certs.issue(ca_key, ca_cert, who, server=True, client=False, days=days)
            _save_pair(layout.node_cert(who.name), layout.node_key(who.name), key, cert)
    except OSError as exc:
        raise ConfigError(f"cannot write the PKI in {directory}: {exc}", "run as root, or pass --dir") from exc
    return layout


def load_ca(layout: Layout) -> tuple[object, object]:
    try:
        with open(layout.ca_cert, "rb") as fh:
            ca_cert = certs.load_cert(fh.read())
        with open(layout.ca_key, "rb") as fh:
            ca_key = certs.load_key(fh.read())
    except FileNotFoundError as exc:
        raise UsageError(
            f"no CA in {layout.directory}: {exc.filename} is missing", "run `steth pki init` first, or pass --dir"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the CA in {layout.directory}: {exc}", "run as root") from None
    except ValueError as exc:
        raise ConfigError(f"the CA in {layout.directory} is not usable: {exc}") from None
    return ca_key, ca_cert


def issue_node(
    directory: str, name: str, addresses: list[str], *, force: bool = False, days: int = certs.LEAF_DAYS
) -> Layout:
    """One more node certificate signed by the existing CA."""
    layout = Layout(directory)
    who = identity(name, addresses)
    ca_key, ca_cert = load_ca(layout)
    _refuse_existing([layout.node_cert(name), layout.node_key(name)], force)
    try:
        _mkdirs(layout)
        key, cert = certs.issue(ca_key, ca_cert, who, server=True, client=False, days=days)  # type: ignore[arg-type]
        _save_pair(layout.node_cert(name), layout.node_key(name), key, cert)
    except OSError as exc:
        raise ConfigError(f"cannot write node {name}'s certificate in {directory}: {exc}", "run as root") from exc
    return layout


def read_info(path: str) -> certs.CertInfo:
    with open(path, "rb") as fh:
        return certs.info(certs.load_cert(fh.read()))
