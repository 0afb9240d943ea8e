"""Licence keys: valid, tampered, expired, wrong LA, malformed, missing feature, wrong public key."""
import base64
from datetime import date, timedelta

import pytest

from b2b_soap.licensing import current_licence, install_licence, require_features
from b2b_soap.db import Licence, session_scope
from b2b_soap.errors import NotLicensed, ValidationFailed
from b2b_soap.licensing import (B2B_ATTAINMENT, B2B_STUDENT, PULSE, LicenceError, generate_keypair,
                                issue_licence, load_private_key, verify_licence)

TODAY = date(2026, 6, 1)


@pytest.fixture
def vendor(tmp_path):
    public = generate_keypair(tmp_path / "vendor.pem")
    return load_private_key(tmp_path / "vendor.pem"), public


def _key(vendor, la="999", features=(B2B_STUDENT,), expires=TODAY + timedelta(days=30)):
    return issue_licence(vendor[0], la, list(features), expires, "Test LA")


def _reason(key, public, la="999"):
    with pytest.raises(LicenceError) as excinfo:
        verify_licence(key, public, la, TODAY)
    return excinfo.value.reason


def test_private_key_file_is_0600(tmp_path, vendor):
    assert (tmp_path / "vendor.pem").stat().st_mode & 0o777 == 0o600


def test_valid_key(vendor):
    info = verify_licence(_key(vendor, features=(B2B_STUDENT, PULSE)), vendor[1], "999", TODAY)
    assert info.la_number == "999" and info.licensee == "Test LA"
    assert info.has(B2B_STUDENT, PULSE) and not info.has(B2B_ATTAINMENT)


def test_last_day_is_still_valid(vendor):
    assert verify_licence(_key(vendor, expires=TODAY), vendor[1], "999", TODAY).expires == TODAY


def test_expired(vendor):
    assert _reason(_key(vendor, expires=TODAY - timedelta(days=1)), vendor[1]) == "expired"


def test_a_key_verified_before_is_checked_again_for_expiry_la_and_public_key(vendor, tmp_path):
    key = _key(vendor, expires=TODAY)
    assert verify_licence(key, vendor[1], "999", TODAY).expires == TODAY
    with pytest.raises(LicenceError) as excinfo:
        verify_licence(key, vendor[1], "999", TODAY + timedelta(days=1))
    assert excinfo.value.reason == "expired"
    assert _reason(key, vendor[1], la="998") == "wrong-la"
    assert _reason(key, generate_keypair(tmp_path / "other.pem")) == "tampered"


def test_wrong_la(vendor):
    assert _reason(_key(vendor, la="888"), vendor[1]) == "wrong-la"


def test_tampered_payload(vendor):
    prefix, payload, signature = _key(vendor).split(".")
    forged = base64.urlsafe_b64decode(payload + "==").replace(b'"999"', b'"998"')
    key = ".".join([prefix, base64.urlsafe_b64encode(forged).rstrip(b"=").decode(), signature])
    assert _reason(key, vendor[1], la="998") == "tampered"


def test_signed_by_another_vendor(vendor, tmp_path):
    generate_keypair(tmp_path / "other.pem")
    other = load_private_key(tmp_path / "other.pem")
    assert _reason(issue_licence(other, "999", [B2B_STUDENT], TODAY), vendor[1]) == "tampered"


@pytest.mark.parametrize("key", ["", "nonsense", "B2BL1.onlytwo", "B2BL2.a.b", "B2BL1.a.b", "B2BL1.%%%.###"])
def test_malformed(vendor, key):
    assert _reason(key, vendor[1]) == "malformed"


def test_no_public_key_configured(vendor):
    assert _reason(_key(vendor), "") == "no-key"


def test_unknown_feature_cannot_be_issued(vendor):
    with pytest.raises(ValueError, match="unknown feature"):
        _key(vendor, features=("TELEPORT",))


def _licensed_settings(settings, public):
    import dataclasses
    return dataclasses.replace(settings, licence=dataclasses.replace(settings.licence, public_key=public))


def test_install_and_require_features(ctx, vendor):
    settings = _licensed_settings(ctx.settings, vendor[1])
    with session_scope(ctx.sessions) as s:
        with pytest.raises(NotLicensed, match="no valid"):
            require_features(s, settings, B2B_STUDENT)
        install_licence(s, settings, "test", _key(vendor, features=(B2B_STUDENT,), expires=date.today()))
    with session_scope(ctx.sessions) as s:
        assert require_features(s, settings, B2B_STUDENT).la_number == "999"
        with pytest.raises(NotLicensed, match="PULSE, B2B_ATTAINMENT"):
            require_features(s, settings, B2B_STUDENT, PULSE, B2B_ATTAINMENT)
        assert current_licence(s, settings, today=date.today() + timedelta(days=1)) is None


def test_refused_key_says_why_and_changes_nothing(ctx, vendor):
    settings = _licensed_settings(ctx.settings, vendor[1])
    with session_scope(ctx.sessions) as s:
        install_licence(s, settings, "test", _key(vendor, expires=date.today() + timedelta(days=9)))
    refused = [(_key(vendor, la="123"), "wrong-la"),
               (_key(vendor, expires=date.today() - timedelta(days=1)), "expired"),
               ("B2BL1.x", "malformed"),
               (_key(vendor)[:-4] + "AAAA", "tampered")]
    for key, reason in refused:
        with pytest.raises(ValidationFailed, match=f"licence refused \\({reason}\\)"):
            with session_scope(ctx.sessions) as s:
                install_licence(s, settings, "test", key)
    with session_scope(ctx.sessions) as s:
        assert s.query(Licence).count() == 1
        assert current_licence(s, settings).expires == date.today() + timedelta(days=9)
