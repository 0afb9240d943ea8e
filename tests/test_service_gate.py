"""The school gate over real HTTP: whatever a server remembers between requests (the verified
licence signature, password verifications), a change to the licence or an account is
refused or admitted on the very next request."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import zeep
from sqlalchemy import select, update

from b2b_soap.db import AuditEntry, Licence, session_scope
from b2b_soap.licensing import B2B_STUDENT, PULSE, generate_keypair, issue_licence, load_private_key
from server import running_server, zeep_client
from service_setup import LA_NUMBER, PASSWORD, ServiceEnv, fault_code
from test_cli_support import Cli

B2BS = "B2BS Import/Export"


def _answer(client) -> str:
    """The code of the B2BFault that GetServerInfo answers with, or "ok"."""
    try:
        client.service.GetServerInfo()
    except zeep.exceptions.Fault as fault:
        return fault_code(fault, client)
    return "ok"


def _key(env: ServiceEnv, features=(B2B_STUDENT,), expires: date | None = None,
         private_key: Path | None = None) -> str:
    return issue_licence(load_private_key(private_key or env.private_key), LA_NUMBER, list(features),
                         expires or date.today() + timedelta(days=30), "Test LA")


def _store_key(env: ServiceEnv, key: str) -> None:
    """Replace the active licence's key in place, as ``licence install`` would refuse to."""
    with session_scope(env.ctx.sessions) as session:
        session.execute(update(Licence).where(Licence.active.is_(True)).values(key=key))


def _set_active(env: ServiceEnv, licence_id: int | None) -> None:
    """Only ``licence_id`` active (None: revoke every licence)."""
    with session_scope(env.ctx.sessions) as session:
        session.execute(update(Licence).values(active=Licence.id == licence_id if licence_id else False))


def test_licence_changes_take_effect_on_the_next_request(tmp_path: Path, database_url: str, capsys,
                                                         monkeypatch) -> None:
    env = ServiceEnv.create(tmp_path, database_url, features=[B2B_STUDENT])
    env.add_school("9994000", "sims")
    cli = Cli(env.config_path, env.private_key, capsys, monkeypatch)
    with session_scope(env.ctx.sessions) as session:
        first = session.scalar(select(Licence.id).where(Licence.active.is_(True)))
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        assert [_answer(sims), _answer(sims)] == ["ok", "ok"]

        cli.ok("licence", "install", _key(env, features=[PULSE]))
        assert _answer(sims) == "NotLicensed"
        cli.ok("licence", "install", _key(env, expires=date.today() + timedelta(days=9)))
        assert _answer(sims) == "ok"

        _set_active(env, None)  # revoked
        assert _answer(sims) == "NotLicensed"
        assert srv.health()["licence"]["valid"] is False
        _set_active(env, first)  # the key the server verified first is active again
        assert _answer(sims) == "ok"

        _store_key(env, _key(env, expires=date.today() - timedelta(days=1)))  # its last day has passed
        assert _answer(sims) == "NotLicensed"
        other_vendor = tmp_path / "other.pem"
        generate_keypair(other_vendor)
        _store_key(env, _key(env, private_key=other_vendor))
        assert _answer(sims) == "NotLicensed"
    env.close()


def test_account_changes_take_effect_on_the_next_request(tmp_path: Path, database_url: str, capsys,
                                                         monkeypatch) -> None:
    env = ServiceEnv.create(tmp_path, database_url, features=[B2B_STUDENT])
    env.add_school("9994000", "sims")
    cli = Cli(env.config_path, env.private_key, capsys, monkeypatch)
    new_password = "a different long password"
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        assert [_answer(sims), _answer(sims)] == ["ok", "ok"]

        cli.ok("user", "lock", "sims")
        assert _answer(sims) == "AccountLocked"
        cli.ok("user", "unlock", "sims")
        assert _answer(sims) == "ok"

        cli.ok("group", "grant", "Schools", B2BS, "Read")
        assert _answer(sims) == "PermissionDenied"
        cli.ok("group", "grant", "Schools", B2BS, "Read-Write")
        assert _answer(sims) == "ok"
        cli.ok("group", "member", "remove", "Schools", "sims")
        assert _answer(sims) == "PermissionDenied"
        cli.ok("group", "member", "add", "Schools", "sims")
        assert _answer(sims) == "ok"

        cli.ok("base", "set-b2b", "9994000", "off")
        assert _answer(sims) == "BaseNotEnabled"
        cli.ok("base", "set-b2b", "9994000", "on")
        assert _answer(sims) == "ok"

        cli.ok("user", "passwd", "sims", "--password-stdin", stdin=new_password + "\n")
        assert _answer(sims) == "AuthenticationFailed"
        assert _answer(zeep_client(srv, "sims", new_password)) == "ok"
    with session_scope(env.ctx.sessions) as session:
        failures = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "auth.failure")))
    assert failures == ["account locked (token)", "wrong password (token)"]
    env.close()
