"""The OpenStack connection of a run: options parsed by the app, the connection built once, on first use."""

from __future__ import annotations

import textwrap

import pytest

from steth.controller.cli import StethApp
from steth.controller.clientmanager import ClientManager
from steth.errors import OpenStackError

CLOUDS = textwrap.dedent(
    """\
    clouds:
      noauth:
        auth_type: none
        region_name: RegionOne
        network_endpoint_override: http://192.0.2.9:9696/
      keystone:
        auth:
          auth_url: http://192.0.2.5:5000/v3
          username: admin
          password: secret
          project_name: admin
          user_domain_name: Default
          project_domain_name: Default
        regions: [RegionOne, RegionTwo]
    """
)


@pytest.fixture
def clouds(tmp_path, monkeypatch):
    path = tmp_path / "clouds.yaml"
    path.write_text(CLOUDS)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    for var in ("OS_CLOUD", "OS_AUTH_URL", "OS_AUTH_TYPE", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"):
        monkeypatch.delenv(var, raising=False)
    return path


def parsed(*argv: str):
    app = StethApp()
    options, rest = app.parser.parse_known_args(list(argv))
    app.options = options
    app.initialize_app(rest)
    return app, rest


def test_options_before_or_after_the_command_are_the_app_s(clouds):
    for argv in (["--os-cloud", "noauth", "port", "show", "p1"], ["port", "show", "p1", "--os-cloud", "noauth"]):
        app, rest = parsed(*argv)
        assert rest == ["port", "show", "p1"]
        assert app.client_manager.configured and app.client_manager.cloud_name == "noauth"


def test_the_cloud_s_own_auth_type_stays_unless_given(clouds):
    app, _ = parsed("--os-cloud", "noauth", "neutron", "agent", "list")
    conn = app.client_manager.openstack.conn
    assert conn.config.config["auth_type"] == "none"  # keystoneauth's argparse default (password) no longer wins
    assert conn.config.get_endpoint("network") == "http://192.0.2.9:9696/"
    assert app.client_manager.openstack is app.client_manager.openstack  # built once per run


def test_given_options_override_clouds_yaml(clouds):
    app, _ = parsed("--os-cloud", "keystone", "--os-username", "operator", "--os-region-name", "RegionTwo", "doctor")
    config = app.client_manager.openstack.conn.config
    assert config.config["auth"]["username"] == "operator"
    assert config.config["auth"]["password"] == "secret"  # the rest still from clouds.yaml
    assert config.region_name == "RegionTwo"


def test_no_cloud_is_not_configured_and_an_unknown_one_is_an_openstack_error(clouds, monkeypatch):
    app, _ = parsed("check", "all")
    assert not app.client_manager.configured and app.client_manager.cloud_name == "OS_* variables"
    monkeypatch.setenv("OS_CLOUD", "nosuchcloud")
    assert app.client_manager.configured
    with pytest.raises(OpenStackError, match="connecting to OpenStack"):
        _ = ClientManager(app.options).openstack
