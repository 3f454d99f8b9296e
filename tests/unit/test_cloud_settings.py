"""steth.conf's [openstack]: the cloud a controller belongs to, so STETH_CONFIG is the one export needed."""

from __future__ import annotations

import argparse
import re

import pytest

from steth.controller.clientmanager import ClientManager
from steth.controller.config import CloudSettings, cloud_settings
from steth.errors import ConfigError

CLOUDS = """clouds:
  labcloud:
    auth_type: none
    endpoint: http://127.0.0.1:1/
    network_endpoint_override: http://127.0.0.1:1/
  other:
    auth_type: none
    network_endpoint_override: http://127.0.0.1:2/
"""


@pytest.fixture
def conf(tmp_path, monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE", raising=False)
    monkeypatch.delenv("OS_AUTH_URL", raising=False)
    (tmp_path / "clouds.yaml").write_text(CLOUDS)

    def write(section: str) -> str:
        path = tmp_path / "steth.conf"
        path.write_text(f"[DEFAULT]\ntoken_file = /nonexistent\n{section}")
        return str(path)

    return write


def manager(path: str, **options: str) -> ClientManager:
    return ClientManager(argparse.Namespace(config_file=path, **options))


def test_section_read_and_relative_clouds_file(conf, tmp_path):
    path = conf("[openstack]\ncloud = labcloud\nclouds_file = clouds.yaml\n")
    assert cloud_settings(path) == CloudSettings("labcloud", str(tmp_path / "clouds.yaml"))


def test_no_config_file_means_no_settings(tmp_path):
    assert cloud_settings(str(tmp_path / "none.conf")) == CloudSettings()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[openstack]\ncloudz = x\n", "unknown option(s) cloudz"),
        ("[openstack]\nclouds_file = nope.yaml\n", "nope.yaml"),
    ],
)
def test_bad_section_named(conf, section, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        cloud_settings(conf(section))


def test_configured_and_named_from_the_config(conf):
    m = manager(conf("[openstack]\ncloud = labcloud\nclouds_file = clouds.yaml\n"), os_cloud=None)
    assert m.configured and m.cloud_name == "labcloud"


def test_os_cloud_wins(conf, monkeypatch):
    path = conf("[openstack]\ncloud = labcloud\nclouds_file = clouds.yaml\n")
    assert manager(path, os_cloud="other").cloud_name == "other"
    monkeypatch.setenv("OS_CLOUD", "other")
    assert manager(path, os_cloud=None).cloud_name == "other"


def test_the_connection_uses_the_configured_cloud_and_file(conf):
    """openstacksdk really loads the named cloud from the configured clouds.yaml (no request is made)."""
    m = manager(conf("[openstack]\ncloud = labcloud\nclouds_file = clouds.yaml\n"), os_cloud=None)
    conn = m.openstack.conn
    assert conn.config.name == "labcloud"
    assert conn.config.config["network_endpoint_override"] == "http://127.0.0.1:1/"
