"""``base``, ``user`` and ``group`` commands, with their error paths."""
from test_cli_support import PASSWORD

pytest_plugins = ["test_cli_support"]  # the cli and plain_cli fixtures


def test_bases(cli):
    cli.ok("init")
    added = cli.json("base", "add", "9991001", "--name", "North School", "--phase", "Primary", "--b2b")
    assert added["b2b_enabled"] is True and added["users"] == ""
    cli.ok("base", "add", "9991002", "--name", "South School", "--json")  # --json after the sub-command
    table = cli.ok("base", "list").out.splitlines()
    assert table[0].split() == ["LAESTAB", "NAME", "PHASE", "B2B_ENABLED", "USERS"]
    assert "9991001  North School  Primary  yes" in table[1]
    assert cli.json("base", "set-b2b", "9991002", "on")["b2b_enabled"] is True
    assert cli.json("base", "set-b2b", "9991001", "off")["b2b_enabled"] is False
    assert cli.json("base", "show", "9991002")["name"] == "South School"
    assert "unknown base '9990000'" in cli.fails("base", "show", "9990000")
    assert "unknown base" in cli.fails("base", "set-b2b", "9990000", "on")
    assert "already exists" in cli.fails("base", "add", "9991001", "--name", "Again")
    assert "7 digits" in cli.fails("base", "add", "12345", "--name", "Short")
    assert cli("base", "set-b2b", "9991001", "maybe").code == 2


def test_users_and_groups(cli, monkeypatch):
    cli.ok("init")
    cli.ok("base", "add", "9991001", "--name", "North School", "--b2b")
    cli.ok("group", "add", "Schools B2B", "--description", "schools")
    assert cli.json("group", "grant", "Schools B2B", "B2BS Import/Export", "Read-Write")["permissions"] == \
        "B2BS Import/Export=Read-Write"
    cli.ok("group", "grant", "Schools B2B", "import/export data", "read-write")
    school = cli.json("user", "add", "north", "--base", "9991001", "--group", "Schools B2B",
                      "--password-stdin", stdin=PASSWORD + "\n")
    assert (school["kind"], school["base"], school["groups"]) == ("school", "9991001", "Schools B2B")
    monkeypatch.setenv("B2B_SOAP_PASSWORD", PASSWORD)
    assert cli.json("user", "add", "officer", "--la", "--full-name", "Olive Officer")["kind"] == "la"
    monkeypatch.delenv("B2B_SOAP_PASSWORD")

    assert "already exists" in cli.fails("user", "add", "north", "--la", "--password-stdin", stdin=PASSWORD)
    assert "at least 12" in cli.fails("user", "add", "weak", "--la", "--password-stdin", stdin="short\n")
    assert "unknown base" in cli.fails("user", "add", "lost", "--base", "9990000", "--password-stdin",
                                       stdin=PASSWORD)
    assert "no password given" in cli.fails("user", "add", "nopass", "--la")
    assert cli("user", "add", "both", "--la", "--base", "9991001").code == 2
    assert cli("user", "add", "neither").code == 2
    assert "unknown group" in cli.fails("user", "add", "grouped", "--la", "--group", "Nope",
                                        "--password-stdin", stdin=PASSWORD)
    assert [u["username"] for u in cli.json("user", "list")] == ["north", "officer"]  # nothing half-made
    assert [u["username"] for u in cli.json("user", "list", "--base", "9991001")] == ["north"]

    assert cli.json("user", "lock", "north")["locked"] is True
    assert "yes" in cli.ok("user", "list").out.splitlines()[1]
    assert cli.json("user", "unlock", "north")["locked"] is False
    assert "unknown user 'ghost'" in cli.fails("user", "lock", "ghost")
    assert "unknown user" in cli.fails("user", "unlock", "ghost")
    cli.ok("user", "passwd", "north", "--password-stdin", stdin="another long password\n")
    assert "at least 12" in cli.fails("user", "passwd", "north", "--password-stdin", stdin="tiny\n")
    assert "unknown user" in cli.fails("user", "passwd", "ghost", "--password-stdin", stdin=PASSWORD)

    assert cli.json("group", "member", "add", "Schools B2B", "officer")["members"] == "north, officer"
    assert cli.json("group", "member", "remove", "Schools B2B", "officer")["members"] == "north"
    assert "not in group" in cli.fails("group", "member", "remove", "Schools B2B", "officer")
    assert "already in group" in cli.fails("group", "member", "add", "Schools B2B", "north")
    assert "unknown group" in cli.fails("group", "grant", "Nope", "Reports", "Read")
    assert "unknown process" in cli.fails("group", "grant", "Schools B2B", "Teleport", "Read")
    assert "unknown level" in cli.fails("group", "grant", "Schools B2B", "Reports", "Admin")
    assert "already exists" in cli.fails("group", "add", "Schools B2B")
    listed = {g["name"]: g for g in cli.json("group", "list")}
    assert set(listed) == {"LA Administrators", "Schools B2B"}
    assert "Import/Export data=Read-Write" in listed["Schools B2B"]["permissions"]


def test_output_into_a_pipe_closed_early_ends_quietly(cli):
    """``b2b-soap base add ... | head -2``: the reader goes away, the command exits without a traceback."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    cli.ok("init")
    command = shutil.which("b2b-soap", path=str(Path(sys.executable).parent)) or "b2b-soap"
    for number in range(3):
        process = subprocess.Popen([command, "--config", str(cli.config), "base", "add", f"999200{number}",
                                    "--name", "Piped School"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.close()  # the reader has gone before the command writes anything
        err = process.stderr.read().decode()
        assert process.wait(60) == 141, err
        assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert [b["laestab"] for b in cli.json("base", "list")] == ["9992000", "9992001", "9992002"]
