"""The clients of one `steth` run, built once from the app's options (python-openstackclient's ClientManager).

The app parses the standard --os-* options (``openstack/options.py``) with its own options, before
the command's; a command that needs Neutron takes ``app.client_manager.openstack``, built on
first use and kept for the rest of the run. Commands that never ask load no openstacksdk.
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import TYPE_CHECKING

from ..openstack import options as os_options

if TYPE_CHECKING:
    from ..openstack.adapter import OpenStack
    from .config import CloudSettings


class ClientManager:
    def __init__(self, options: argparse.Namespace) -> None:
        self._options = options

    @functools.cached_property
    def _settings(self) -> CloudSettings:
        """steth.conf's [openstack] (the cloud named there and its clouds.yaml), read once."""
        from .config import cloud_settings

        return cloud_settings(getattr(self._options, "config_file", None))

    def _explicit_cloud(self) -> bool:
        return bool(getattr(self._options, "os_cloud", None) or os.environ.get("OS_CLOUD"))

    @property
    def configured(self) -> bool:
        """Is a cloud given (--os-cloud / OS_CLOUD, --os-auth-url / OS_AUTH_URL, a Neutron endpoint,
        or [openstack] cloud in steth.conf)?"""
        return os_options.configured(self._options) or bool(self._settings.cloud)

    @property
    def cloud_name(self) -> str:
        if self._explicit_cloud() or not self._settings.cloud:
            return os_options.cloud_name(self._options)
        return self._settings.cloud

    @functools.cached_property
    def openstack(self) -> OpenStack:
        """The connection, built on first use (raises OpenStackError when it cannot be)."""
        from ..openstack.adapter import connect

        cloud = None if self._explicit_cloud() else self._settings.cloud
        clouds_file = None if os.environ.get("OS_CLIENT_CONFIG_FILE") else self._settings.clouds_file
        return connect(self._options, cloud=cloud, config_files=[clouds_file] if clouds_file else None)
