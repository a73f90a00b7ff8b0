"""Secrets between processes: 0600 files named in the child's environment, never the values themselves."""

from __future__ import annotations

import stat

import pytest

from dids.cli.local_stack import local_accounts, settings_env
from dids.kernel.errors import ConfigError
from dids.kernel.secrets import generated_secret, read_secret_file, write_secret
from dids.kernel.settings import Settings

SECRETS = {
    "admin_password": "adm-Secret-1",
    "analyst_password": "an-Secret-2",
    "clickhouse_password": "ch-Secret-3",
    "kafka_sasl_password": "sasl-Secret-4",
    "kafka_ssl_key_password": "tls-Secret-5",
    "pseudonymisation_key": "3f9c2a7b81d04e6f5a2c9e1b7d3f0a86c4e1d2b3a4f5061728394a5b6c7d8e9f",
}


def test_a_child_gets_files_not_secrets_and_reads_them_back(tmp_path, monkeypatch):
    monkeypatch.setenv("DIDS_ADMIN_PASSWORD", "inherited-from-the-shell")
    settings = Settings(home=tmp_path / "home", **SECRETS)
    env = settings_env(settings)
    values = "\n".join(f"{k}={v}" for k, v in env.items())
    for secret in [*SECRETS.values(), "inherited-from-the-shell"]:
        assert secret not in values
    for name in SECRETS:
        assert f"DIDS_{name.upper()}" not in env
        path = env[f"DIDS_{name.upper()}_FILE"]
        assert stat.S_IMODE((tmp_path / "home" / "secrets" / name).stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "home" / "secrets").stat().st_mode) == 0o700
    child = Settings.from_env(env)
    for name, value in SECRETS.items():
        if name != "pseudonymisation_key":
            assert getattr(child, name) == value
    assert child.pseudonymisation_key_file == env["DIDS_PSEUDONYMISATION_KEY_FILE"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o606])
def test_a_secret_file_others_may_read_is_refused(tmp_path, mode):
    path = tmp_path / "pw"
    path.write_text("secret\n")
    path.chmod(mode)
    with pytest.raises(ConfigError, match="chmod 600") as error:
        Settings.from_env({"DIDS_ADMIN_PASSWORD_FILE": str(path)})
    assert "secret" not in str(error.value).replace(str(path), "")


def test_a_secret_file_is_read_without_its_newline(tmp_path):
    path = write_secret(tmp_path / "pw", "s3cret\n")
    assert read_secret_file(path, "X") == "s3cret"


def test_the_admin_password_is_generated_once(tmp_path):
    first, path = generated_secret(tmp_path, "admin_password")
    second, _ = generated_secret(tmp_path, "admin_password")
    assert first == second and len(first) >= 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_accounts(Settings(home=tmp_path), "127.0.0.1").admin_password == first
    assert local_accounts(Settings(home=tmp_path, admin_password="given"), "127.0.0.1").admin_password == "given"


def test_the_demo_analyst_password_is_refused_off_loopback(tmp_path):
    with pytest.raises(ConfigError, match="DIDS_ANALYST_PASSWORD"):
        local_accounts(Settings(home=tmp_path), "0.0.0.0")
    assert local_accounts(Settings(home=tmp_path, analyst_password="long-random"), "0.0.0.0").analyst_password
    assert local_accounts(Settings(home=tmp_path), "::1").analyst_password == "analyst"
