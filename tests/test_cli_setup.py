"""``init``, ``config``, ``defaults`` and ``licence`` commands, with their error paths."""
import stat
import tomllib
from datetime import date, timedelta

from test_cli_support import PASSWORD

from b2b_soap.licensing import issue_licence, load_private_key

pytest_plugins = ["test_cli_support"]  # the cli and plain_cli fixtures


def test_init_is_idempotent_and_creates_the_admin_and_a_0600_key(cli, tmp_path):
    rows = cli.json("init", "--admin-user", "root-admin", "--password-stdin", stdin=PASSWORD + "\n")
    first = [(r["step"], r["result"]) for r in rows]
    assert ("user root-admin", "created") in first
    assert ("user root-admin", "added to LA Administrators") in first
    assert ("system defaults", "seeded 5") in first and dict(first)["storage key"].startswith("created")
    key = tmp_path / "data" / "storage.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key_text = key.read_text()
    again = cli.ok("init", "--admin-user", "root-admin").out  # no password asked: the user exists
    assert "exists, unchanged" in again and "kept" in again and "seeded" not in again
    assert key.read_text() == key_text
    [user] = cli.json("user", "list")
    assert (user["username"], user["kind"], user["groups"]) == ("root-admin", "la", "LA Administrators")
    groups = cli.json("group", "list")
    assert groups[0]["permissions"].count("Read-Write") == 4
    assert "no password given" in cli.fails("init", "--admin-user", "second-admin")


def test_init_refuses_a_weak_admin_password(cli):
    assert "at least 12 characters" in cli.fails("init", "--admin-user", "weak", "--password-stdin",
                                                 stdin="short\n")


def test_config_check_and_example(plain_cli, tmp_path):
    cli = plain_cli
    checked = cli.json("config", "check")
    assert checked["status"] == "valid" and checked["la"] == "999 Demo LA"
    assert checked["licence_public_key"] == "set"
    example = cli.ok("config", "example").out
    assert "[server]" in example and tomllib.loads(example)["server"]["port"] == 8080
    good = tmp_path / "good.toml"
    good.write_text(example)
    assert "valid" in cli.ok("config", "check", str(good)).out
    assert cli.json("config", "check", str(good))["licence_public_key"] == "not set"  # the example's is empty
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nport = 99999\nbogus = 1\n')
    line = cli.fails("config", "check", str(bad), code=2)
    assert "server.port: 99999 is out of range" in line and "server.bogus: unknown key" in line
    assert "file not found" in cli.fails("config", "check", str(tmp_path / "missing.toml"), code=2)
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    assert "not valid TOML" in cli.fails("config", "check", str(broken), code=2)


def test_config_check_shows_the_database_without_its_password(plain_cli, tmp_path):
    plain_cli.config.write_text(f'data_dir = "{tmp_path / "data"}"\n'
                                '[database]\nurl = "postgresql://b2b:s3cret-pass@db.la.example/b2b"\n')
    assert plain_cli.json("config", "check")["database"] == "postgresql://b2b:***@db.la.example/b2b"
    assert "s3cret-pass" not in plain_cli.ok("config", "check").out


def test_defaults_list_get_set(cli):
    cli.ok("init")
    listed = {d["name"]: d["value"] for d in cli.json("defaults", "list")}
    assert listed == {"B2B_S_AGE": "18", "CARER_MIN": "16", "B2BHCACHE": "T", "GUIDMATCH": "T",
                      "FILE_RETENTION_DAYS": "90"}
    assert cli.json("defaults", "set", "b2b_s_age", "19")["value"] == "19"
    assert cli.json("defaults", "set", "GUIDMATCH", "false")["value"] == "F"
    assert cli.ok("defaults", "get", "B2B_S_AGE").out.split()[-1] != ""
    assert cli.json("defaults", "get", "b2b_s_age")["value"] == "19"
    assert "no system default 'NOPE'" in cli.fails("defaults", "set", "NOPE", "1")
    assert "no system default 'NOPE'" in cli.fails("defaults", "get", "NOPE")
    assert "must be a whole number" in cli.fails("defaults", "set", "CARER_MIN", "old")
    assert "between 0 and 120" in cli.fails("defaults", "set", "CARER_MIN", "500")
    assert "must be T or F" in cli.fails("defaults", "set", "B2BHCACHE", "maybe")


def test_licence_keygen_issue_install_show(cli, tmp_path):
    cli.ok("init")
    assert "no licence is installed" in cli.fails("licence", "show")
    new_key = tmp_path / "new-vendor.pem"
    public = cli.ok("licence", "keygen", "--private-key", str(new_key)).out.strip()
    assert len(public) == 44 and stat.S_IMODE(new_key.stat().st_mode) == 0o600
    assert "already exists" in cli.fails("licence", "keygen", "--private-key", str(new_key))

    expires = (date.today() + timedelta(days=30)).isoformat()
    issue = ["licence", "issue", "--private-key", str(cli.private_key), "--expires", expires]
    key = cli.ok(*issue, "--la", "999", "--features", "B2B_STUDENT,pulse").out.strip()
    shown = cli.json("licence", "install", key)
    assert shown["status"] == "installed" and shown["features"] == "B2B_STUDENT, PULSE"
    assert cli.json("licence", "show")["status"] == "valid"
    assert "installed" in cli.ok("licence", "install", "-", stdin=key + "\n").out

    other_la = cli.ok(*issue, "--la", "123", "--features", "B2B_STUDENT").out.strip()
    assert "(wrong-la)" in cli.fails("licence", "install", other_la)
    altered = key[:-3] + ("AAA" if not key.endswith("AAA") else "BBB")
    assert "(tampered)" in cli.fails("licence", "install", altered)
    assert "(malformed)" in cli.fails("licence", "install", "not-a-licence")
    foreign = cli.ok("licence", "issue", "--private-key", str(new_key), "--la", "999", "--features", "PULSE",
                     "--expires", expires).out.strip()
    assert "(tampered)" in cli.fails("licence", "install", foreign)
    expired = issue_licence(load_private_key(cli.private_key), "999", ["B2B_STUDENT"],
                            date.today() - timedelta(days=1))
    assert "(expired)" in cli.fails("licence", "install", expired)
    assert cli.json("licence", "show")["features"] == "B2B_STUDENT, PULSE"

    assert "unknown feature(s) TELEPORT" in cli.fails(*issue, "--la", "999", "--features", "TELEPORT")
    assert "3-digit" in cli.fails(*issue, "--la", "99", "--features", "PULSE")
    pulse = ["licence", "issue", "--la", "999", "--features", "PULSE"]
    assert "in the past" in cli.fails(*pulse, "--private-key", str(cli.private_key),
                                      "--expires", "2001-01-01")
    assert "YYYY-MM-DD" in cli.fails(*pulse, "--private-key", str(cli.private_key), "--expires", "soon")
    assert "cannot use private key" in cli.fails(*pulse, "--private-key", str(tmp_path / "none.pem"),
                                                 "--expires", expires)


def test_usage_errors_exit_2(plain_cli):
    cli = plain_cli
    assert cli("base").code == 2
    assert cli("no-such-command").code == 2


def test_administrators_guide_shows_the_current_config_example():
    from pathlib import Path

    from b2b_soap.config import example_config
    text = (Path(__file__).parents[1] / "docs" / "administrators.md").read_text()
    block = text.split("<!-- config-example:start -->")[1].split("<!-- config-example:end -->")[0]
    shown = block.strip().removeprefix("```toml").removesuffix("```").strip()
    assert shown == example_config().strip(), "regenerate the block with `b2b-soap config example`"
