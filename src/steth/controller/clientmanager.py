"""The clients of one `steth` run, built once from the app's options (python-openstackclient's ClientManager).

The app parses the standard --os-* options (``openstack/options.py``) with its own options, before
the command's; a command that needs Neutron takes ``app.client_manager.openstack``, built on
first use and kept for the rest of the run. Commands that never ask load no openstacksdk.
"""

from __future__ import annotations

import argparse
import functools
from typing import TYPE_CHECKING

from ..openstack import options as os_options

if TYPE_CHECKING:
    from ..openstack.adapter import OpenStack


class ClientManager:
    def __init__(self, options: argparse.Namespace) -> None:
        self._options = options

    @property
    def configured(self) -> bool:
        """Is a cloud given (--os-cloud / OS_CLOUD, --os-auth-url / OS_AUTH_URL, a Neutron endpoint)?"""
        return os_options.configured(self._options)

    @property
    def cloud_name(self) -> str:
        return os_options.cloud_name(self._options)

    @functools.cached_property
    def openstack(self) -> OpenStack:
        """The connection, built on first use (raises OpenStackError when it cannot be)."""
        from ..openstack.adapter import connect

        return connect(self._options)
