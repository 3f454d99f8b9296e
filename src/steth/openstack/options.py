"""The standard OpenStack connection options, as the `openstack` client takes them.

Plain argparse, nothing of openstacksdk imported: the `steth` app registers these on its own
parser (so they go before or after the command, once for all commands), and the connection is
built from the parsed values only when a command asks for it (``controller/clientmanager.py``).
clouds.yaml and the ``OS_*`` variables are read by openstacksdk itself when it connects;
an option given here wins over both.
"""

from __future__ import annotations

import argparse
import os

GROUP = "OpenStack connection (clouds.yaml, OS_CLOUD, OS_* variables; as for `openstack`)"

# (option, metavar, help); the dest is the option's name with dashes as underscores (os_cloud, ...)
OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--os-cloud", "<name>", "named cloud of clouds.yaml (default: $OS_CLOUD)"),
    ("--os-region-name", "<region>", "region (default: the cloud's)"),
    (
        "--os-auth-type",
        "<type>",
        "authentication type: password, token, v3applicationcredential, none, ... (default: the cloud's)",
    ),
    ("--os-interface", "<interface>", "endpoint interface: public, internal or admin"),
    ("--os-cacert", "<file>", "CA bundle to verify the API's TLS certificates"),
    ("--os-cert", "<file>", "client certificate"),
    ("--os-key", "<file>", "client certificate key"),
    ("--os-network-endpoint-override", "<url>", "Neutron's URL, bypassing the catalog"),
)
# the auth plugin's options: openstacksdk lets clouds.yaml's auth section win over them unless they come
# as an auth dict, so they are passed that way (a value given on the command line wins, as for `openstack`)
AUTH_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--os-auth-url", "<url>", "Keystone URL"),
    ("--os-username", "<name>", "user name"),
    ("--os-user-id", "<id>", "user ID"),
    ("--os-password", "<password>", "password"),
    ("--os-user-domain-name", "<name>", "the user's domain name"),
    ("--os-user-domain-id", "<id>", "the user's domain ID"),
    ("--os-project-name", "<name>", "project name"),
    ("--os-project-id", "<id>", "project ID"),
    ("--os-project-domain-name", "<name>", "the project's domain name"),
    ("--os-project-domain-id", "<id>", "the project's domain ID"),
    ("--os-domain-name", "<name>", "domain name (domain-scoped token)"),
    ("--os-domain-id", "<id>", "domain ID (domain-scoped token)"),
    ("--os-system-scope", "<scope>", "system scope, e.g. all"),
    ("--os-token", "<token>", "a token (with --os-auth-type token)"),
    ("--os-application-credential-id", "<id>", "application credential ID"),
    ("--os-application-credential-name", "<name>", "application credential name"),
    ("--os-application-credential-secret", "<secret>", "application credential secret"),
)
FLAGS = ("insecure",)  # --insecure: store_true


def add_options(parser: argparse.ArgumentParser) -> None:
    """Register every connection option on ``parser`` (each defaults to None: not given)."""
    group = parser.add_argument_group(GROUP)
    for option, metavar, text in OPTIONS + AUTH_OPTIONS:
        group.add_argument(option, metavar=metavar, default=None, help=text)
    group.add_argument("--insecure", action="store_true", default=None, help="do not verify the API's TLS certificate")


def _dest(option: str) -> str:
    return option.removeprefix("--").replace("-", "_")


def selected(parsed: argparse.Namespace) -> tuple[argparse.Namespace, dict[str, str]]:
    """The connection options given in a parsed namespace: (the others as openstacksdk's ``argparse=``,
    the auth plugin's as its ``auth=`` dict, without the os_ prefix)."""
    auth_names = {_dest(o) for o, _, _ in AUTH_OPTIONS}
    given = {
        n: getattr(parsed, n)
        for n in [_dest(o) for o, _, _ in OPTIONS + AUTH_OPTIONS] + list(FLAGS)
        if getattr(parsed, n, None) is not None
    }
    auth = {n.removeprefix("os_"): v for n, v in given.items() if n in auth_names}
    return argparse.Namespace(**{n: v for n, v in given.items() if n not in auth_names}), auth


def configured(parsed: argparse.Namespace) -> bool:
    """Is there a cloud to ask: --os-cloud / OS_CLOUD, --os-auth-url / OS_AUTH_URL or a Neutron endpoint."""
    return bool(
        getattr(parsed, "os_cloud", None)
        or os.environ.get("OS_CLOUD")
        or getattr(parsed, "os_auth_url", None)
        or os.environ.get("OS_AUTH_URL")
        or getattr(parsed, "os_network_endpoint_override", None)
    )


def cloud_name(parsed: argparse.Namespace) -> str:
    """How findings name the cloud: its clouds.yaml name, or where the settings came from."""
    return getattr(parsed, "os_cloud", None) or os.environ.get("OS_CLOUD") or "OS_* variables"
