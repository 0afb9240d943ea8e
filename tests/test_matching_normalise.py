import pytest

from b2b_soap.matching.normalise import (
    normalise_address,
    normalise_name,
    normalise_postcode,
    postcode_district,
    postcode_sector,
)


@pytest.mark.parametrize("raw, expected", [
    ("O'Brien", "obrien"), ("O\u2019Brien", "obrien"), ("Smith-Jones", "smith jones"),
    ("  ZOË ", "zoe"), ("Chloé", "chloe"), ("Müller", "muller"), ("Ó Súilleabháin", "o suilleabhain"),
    ("Mary  Jane", "mary jane"), ("", ""), (None, ""), ("Wiśniewski", "wisniewski"),
])
def test_names(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("ls61ab", "LS6 1AB"), ("LS6 1AB", "LS6 1AB"), (" ls12  4hj ", "LS12 4HJ"), ("SW1A1AA", "SW1A 1AA"),
    ("LS6", "LS6"), ("", ""),
])
def test_postcodes(raw, expected):
    assert normalise_postcode(raw) == expected


def test_postcode_parts():
    assert postcode_sector("LS12 4HJ") == "LS12 4" and postcode_district("LS12 4HJ") == "LS12"
    assert postcode_sector("LS12") == "" and postcode_district("LS12") == ""


def test_address_abbreviations_and_punctuation():
    assert normalise_address("12, Station Rd.") == normalise_address("12 Station Road") == "12 station road"
    assert normalise_address("Flat 2, Oak Ave") == "flat 2 oak avenue"
