"""Import and suspense directories: private or refused; files written 0600, atomically."""
from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import select

from b2b_soap.attainment.directories import (UnsafeDirectory, accept_attainment_file, check_directories,
                                             waiting_files, write_private_file)
from b2b_soap.config import settings_from_dict
from b2b_soap.db import AttainmentImport, VirtualFile, session_scope
from b2b_soap.errors import PayloadTooLarge, ServerBusy
from conftest import require_or_skip
from test_attainment_support import (accept, att_ctx, att_settings, school, school_file,  # noqa: F401
                                     sqlite_only, vendor_key)


def _dirs(tmp_path):
    return settings_from_dict({"data_dir": str(tmp_path / "data"),
                               "storage": {"import_dir": str(tmp_path / "in"),
                                           "suspense_dir": str(tmp_path / "sus")}}, environ={})


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_missing_directories_are_created_0700(tmp_path):
    settings = _dirs(tmp_path)
    old = os.umask(0o022)
    try:
        assert check_directories(settings) == (tmp_path / "in", tmp_path / "sus")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "in") == 0o700 and _mode(tmp_path / "sus") == 0o700


@pytest.mark.parametrize("which", ["in", "sus"])
@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701, 0o770, 0o707, 0o711])
def test_directory_open_to_group_or_others_is_refused(tmp_path, which, mode):
    settings = _dirs(tmp_path)
    check_directories(settings)
    os.chmod(tmp_path / which, mode)
    with pytest.raises(UnsafeDirectory) as refused:
        check_directories(settings)
    assert refused.value.path == tmp_path / which
    assert f"{mode:04o}" in refused.value.message and "chmod 700" in refused.value.message
    assert isinstance(refused.value, ServerBusy)  # a school is told to retry later


def test_0700_directories_are_accepted(tmp_path):
    settings = _dirs(tmp_path)
    for name in ("in", "sus"):
        (tmp_path / name).mkdir(mode=0o700)
        os.chmod(tmp_path / name, 0o700)
    check_directories(settings)


def test_directory_owned_by_another_user_is_refused(tmp_path):
    require_or_skip(os.geteuid() == 0, "root (changing a directory's owner)")  # CI runs as root
    settings = _dirs(tmp_path)
    check_directories(settings)
    os.chown(tmp_path / "sus", 65534, 65534)
    with pytest.raises(UnsafeDirectory, match="owned by uid 65534"):
        check_directories(settings)


def test_a_file_in_place_of_a_directory_is_refused(tmp_path):
    settings = _dirs(tmp_path)
    (tmp_path / "in").write_text("not a directory")
    with pytest.raises(UnsafeDirectory, match="is not a directory"):
        check_directories(settings)


def test_private_file_is_0600_and_leaves_no_temporary_file(tmp_path):
    old = os.umask(0)
    try:
        write_private_file(tmp_path / "f.xml", b"<x/>")
        write_private_file(tmp_path / "f.xml", b"<y/>")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "f.xml") == 0o600
    assert (tmp_path / "f.xml").read_bytes() == b"<y/>"
    assert os.listdir(tmp_path) == ["f.xml"]


def test_accepted_file_is_written_0600_and_waits(att_ctx, school):
    base_id, pupils = school
    data = school_file(pupils)
    file_id = accept(att_ctx, base_id, data)
    path = att_ctx.settings.import_path / f"{file_id}.xml"
    assert path.read_bytes() == data and _mode(path) == 0o600
    assert _mode(att_ctx.settings.import_path) == 0o700
    with session_scope(att_ctx.sessions) as session:
        record = session.get(AttainmentImport, file_id)
        assert (record.status, record.path) == ("waiting", str(path))
        assert [f["file_id"] for f in waiting_files(session, att_ctx.settings)] == [file_id]
        assert waiting_files(session, att_ctx.settings, older_than_days=3) == []


@sqlite_only
def test_accepting_twice_writes_once(att_ctx, school):
    base_id, pupils = school
    file_id = accept(att_ctx, base_id, school_file(pupils))
    with session_scope(att_ctx.sessions) as session:
        record = session.get(AttainmentImport, file_id)
        again = accept_attainment_file(session, att_ctx.settings, session.get(VirtualFile, file_id), b"other")
        assert again is record
    assert (att_ctx.settings.import_path / f"{file_id}.xml").read_bytes() != b"other"


@sqlite_only
def test_file_over_2_mb_is_refused_before_writing(att_ctx, school):
    base_id, _ = school
    check_directories(att_ctx.settings)
    with pytest.raises(PayloadTooLarge, match="2097152"):
        accept(att_ctx, base_id, b" " * (2_097_152 + 1))
    assert os.listdir(att_ctx.settings.import_path) == []
    with session_scope(att_ctx.sessions) as session:
        assert session.scalars(select(AttainmentImport)).all() == []


@sqlite_only
def test_unsafe_import_directory_refuses_the_file(att_ctx, school):
    base_id, pupils = school
    check_directories(att_ctx.settings)
    os.chmod(att_ctx.settings.import_path, 0o755)
    with pytest.raises(UnsafeDirectory):
        accept(att_ctx, base_id, school_file(pupils))
    assert os.listdir(att_ctx.settings.import_path) == []


@sqlite_only
def test_unknown_file_in_import_directory_is_listed(att_ctx, school):
    check_directories(att_ctx.settings)
    (att_ctx.settings.import_path / "stray.xml").write_bytes(b"<x/>")
    with session_scope(att_ctx.sessions) as session:
        listed = waiting_files(session, att_ctx.settings)
    assert [(f["file_name"], f["status"]) for f in listed] == [("stray.xml", "unknown")]
