"""Configuration: defaults, overrides, and one clear message per bad key."""
import tomllib

import pytest

from b2b_soap.config import ConfigError, example_config, load_settings, settings_from_dict


def test_defaults_are_valid():
    settings = settings_from_dict({}, environ={})
    assert settings.server.port == 8080
    assert settings.storage.max_attainment_file_bytes == 2_097_152
    assert settings.database_url.startswith("sqlite:///")


def test_example_is_complete_and_valid():
    data = tomllib.loads(example_config())
    settings = settings_from_dict(data, environ={})
    assert {j.action for j in settings.jobs} == {"retention"}
    assert set(data) >= {"server", "database", "la", "defaults", "storage", "attainment", "licence", "maintenance",
                         "alerts"}


@pytest.mark.parametrize("data, key", [
    ({"server": {"bogus": 1}}, "server.bogus: unknown key"),
    ({"server": {"port": "eighty"}}, "server.port: expected a whole number"),
    ({"server": {"port": 70000}}, "server.port: 70000 is out of range"),
    ({"defaults": {"guidmatch": "maybe"}}, "defaults.guidmatch: expected true or false"),
    ({"la": {"number": "12"}}, "la.number: expected 3 digits"),
    ({"nonsense": {}}, "nonsense: unknown key"),
    ({"server": {"tls_cert": "a.pem"}}, "server.tls_cert: tls_cert and tls_key must be given together"),
    ({"maintenance": {"jobs": [{"name": "x", "action": "clear_cache", "trigger": "cron", "cron": "* *"}]}},
     "maintenance.jobs[0].cron: expected 5 crontab fields"),
    ({"maintenance": {"jobs": [{"name": "x", "action": "explode"}]}}, "maintenance.jobs[0].action"),
])
def test_bad_values_name_their_key(data, key):
    with pytest.raises(ConfigError) as excinfo:
        settings_from_dict(data, environ={})
    assert any(p.startswith(key) for p in excinfo.value.problems), excinfo.value.problems


def test_all_problems_reported_together():
    with pytest.raises(ConfigError) as excinfo:
        settings_from_dict({"server": {"port": 0, "threads": 0}, "la": {"number": "x"}}, environ={})
    assert len(excinfo.value.problems) == 3


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "b2b-soap.toml"
    path.write_text('[server]\nport = 9000\n[la]\nname = "Fileshire"\n')
    settings = load_settings(path, environ={"B2B_SOAP_SERVER_PORT": "9100", "B2B_SOAP_DEFAULTS_GUIDMATCH": "false"})
    assert settings.server.port == 9100
    assert settings.defaults.guidmatch is False
    assert settings.la.name == "Fileshire"
    assert settings.data_path == tmp_path / "data"


def test_bad_environment_value_is_reported():
    with pytest.raises(ConfigError, match="server.port"):
        settings_from_dict({}, environ={"B2B_SOAP_SERVER_PORT": "high"})


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\nport=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml")
