"""Person ids: every command takes ``#N`` and ``N`` for the internal id and prints ``#N``."""
import json
import re
from datetime import date

from b2b_soap.transfer.writer import example_header, write_student_file
from processing_support import pupil

pytest_plugins = ["test_cli_support"]  # the cli fixture

PEOPLE = "id,upn,forename,surname,dob,gender,address,town,postcode\nL1,,Amy,Smith,2015-03-04,F,1 High St,Leeds,LS1 4AB\n"


def _unmatched_pupil(cli, tmp_path) -> int:
    cli.ok("base", "add", "9994001", "--name", "Demo Primary", "--b2b")
    night = tmp_path / "night.xml"
    night.write_bytes(write_student_file(example_header(source_laestab="9994001"),
                                         [pupil("Zed", "Quill", date(2011, 7, 9))]))
    cli.ok("import", str(night), "--base", "9994001", "--process")
    [waiting] = cli.json("review", "unmatched")
    return waiting["id"]


def test_person_ids_are_accepted_as_hash_n_and_n_and_printed_as_hash_n(cli, tmp_path):
    cli.ok("init")
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    cli.ok("person", "import", str(people))
    n = cli.json("person", "show", "L1")["person_id"]

    assert re.search(rf"^person_id\s+#{n}$", cli.ok("person", "show", f"#{n}").out, re.M)
    exported = [json.loads(cli.ok("privacy", "export", form).out) for form in (f"#{n}", str(n))]
    assert exported[0]["persons"] == exported[1]["persons"] and exported[0]["persons"][0]["id"] == n
    assert "is not a person id (#N or N)" in cli.fails("privacy", "export", "#x1")
    for form in (f"#{n}", str(n)):
        assert cli.json("conflicts", "list", "--person", form) == []

    incoming = _unmatched_pupil(cli, tmp_path)
    matched = cli.ok("review", "match", str(incoming), f"#{n}").out
    assert re.search(rf"^person_id\s+#{n}$", matched, re.M)
    assert cli("review", "match", str(incoming), "Amy").code == 2  # argparse: not a person id
