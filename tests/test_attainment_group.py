"""Import and suspense directories shared with a configured group: 2770, files 0660, nobody else.

Giving a directory or file to a group the server's user is not in needs root: CI runs as
root, so under CI=true these tests fail rather than skip when not root.
"""
from __future__ import annotations

import dataclasses
import grp
import os
import stat

import pytest

from b2b_soap.attainment.directories import UnsafeDirectory, check_directories
from b2b_soap.attainment.suspense import write_suspense_file
from b2b_soap.cli import main
from b2b_soap.config import AttainmentSettings
from conftest import require_or_skip
from test_attainment_support import (accept, att_ctx, install, school, school_file,  # noqa: F401
                                     sqlite_only, vendor_key)
from test_attainment_support import att_settings as owner_only_settings  # noqa: F401

GROUP = next((g for g in grp.getgrall() if g.gr_gid != os.getegid()), None)


@pytest.fixture
def att_settings(owner_only_settings):  # noqa: F811
    require_or_skip(os.geteuid() == 0 and GROUP is not None, "root and a second group")
    return dataclasses.replace(owner_only_settings, attainment=AttainmentSettings(group=GROUP.gr_name))


def _mode_and_group(path) -> tuple[int, int]:
    info = os.stat(path)
    return stat.S_IMODE(info.st_mode), info.st_gid


@sqlite_only
def test_directories_are_created_2770_and_files_0660_with_the_group(att_ctx, school):
    base_id, pupils = school
    old = os.umask(0o022)
    try:
        file_id = accept(att_ctx, base_id, school_file(pupils))
        write_suspense_file(att_ctx.settings, file_id, "9991001", "KS2", [])
    finally:
        os.umask(old)
    settings = att_ctx.settings
    for directory in (settings.import_path, settings.suspense_path):
        assert _mode_and_group(directory) == (0o2770, GROUP.gr_gid)
    assert _mode_and_group(settings.import_path / f"{file_id}.xml") == (0o660, GROUP.gr_gid)
    assert _mode_and_group(settings.suspense_path / f"{file_id}.json") == (0o660, GROUP.gr_gid)
    check_directories(settings)  # what it made, it accepts


@sqlite_only
@pytest.mark.parametrize("mode", [0o2771, 0o2772, 0o2774, 0o2775, 0o2777, 0o0707])
def test_world_access_is_refused_even_with_a_group(att_ctx, mode):
    check_directories(att_ctx.settings)
    os.chmod(att_ctx.settings.suspense_path, mode)
    with pytest.raises(UnsafeDirectory) as refused:
        check_directories(att_ctx.settings)
    assert refused.value.path == att_ctx.settings.suspense_path
    assert f"{mode:04o}" in refused.value.message and f"group {GROUP.gr_name}" in refused.value.message
    assert "chmod 2770" in refused.value.message


@sqlite_only
@pytest.mark.parametrize("mode", [0o770, 0o2750, 0o700])
def test_a_group_directory_must_be_2770(att_ctx, mode):
    check_directories(att_ctx.settings)
    os.chmod(att_ctx.settings.import_path, mode)
    with pytest.raises(UnsafeDirectory, match="not 2770; run chmod 2770"):
        check_directories(att_ctx.settings)


@sqlite_only
def test_a_directory_of_another_group_is_refused(att_ctx):
    check_directories(att_ctx.settings)
    os.chown(att_ctx.settings.import_path, -1, os.getegid())
    with pytest.raises(UnsafeDirectory, match=f"run chgrp {GROUP.gr_name} "):
        check_directories(att_ctx.settings)


@sqlite_only
def test_a_group_that_does_not_exist_is_refused(att_ctx):
    settings = dataclasses.replace(att_ctx.settings, attainment=AttainmentSettings(group="no-such-b2b-group"))
    with pytest.raises(UnsafeDirectory, match="'no-such-b2b-group'.*does not exist on this host"):
        check_directories(settings)
    assert not settings.import_path.exists()


@sqlite_only
def test_the_command_line_uses_the_configured_group(att_ctx, vendor_key, tmp_path, capsys):
    install(att_ctx, vendor_key)
    s = att_ctx.settings
    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{s.data_dir}"\n[database]\nurl = "{s.database.url}"\n'
                      f'[licence]\npublic_key = "{s.licence.public_key}"\n'
                      f'[storage]\nimport_dir = "{s.storage.import_dir}"\nsuspense_dir = "{s.storage.suspense_dir}"\n'
                      f'[attainment]\ngroup = "{GROUP.gr_name}"\n')
    assert main(["--config", str(config), "attainment", "import-now"]) == 0
    assert _mode_and_group(s.import_path) == (0o2770, GROUP.gr_gid)
    os.chmod(s.import_path, 0o2775)
    capsys.readouterr()
    assert main(["--config", str(config), "attainment", "import-now"]) == 1
    assert "has mode 2775" in capsys.readouterr().err
