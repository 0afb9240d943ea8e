import pytest

from b2b_soap.matching.upn import UPN_ALPHABET, is_valid_upn, make_upn, upn_check_letter, validate_upn


def _by_hand(tail: str) -> str:
    total = sum(w * (int(ch) if ch.isdigit() else UPN_ALPHABET.index(ch)) for w, ch in zip(range(2, 14), tail))
    return UPN_ALPHABET[total % 23]


@pytest.mark.parametrize("tail", ["999400119007", "881234512345", "000000000000", "999400224A"[:0] + "99940022400A"])
def test_check_letter_matches_weighted_sum(tail):
    assert upn_check_letter(tail) == _by_hand(tail)


def test_known_value():
    # 2*9+3*9+4*9+5*4+6*0+7*0+8*1+9*1+10*9+11*0+12*0+13*7 = 299; 299 mod 23 = 0 -> "A"
    assert make_upn("999", "4001", 2019, 7) == "A999400119007"


def test_make_upn_is_valid_and_structured():
    upn = make_upn("999", "4003", 2021, 42)
    assert len(upn) == 13 and upn[1:] == "999400321042"
    assert validate_upn(upn) is None and is_valid_upn(upn)


def test_temporary_upn_letter_in_position_13():
    tail = "99940032104" + "K"
    upn = upn_check_letter(tail) + tail
    assert is_valid_upn(upn)
    assert upn_check_letter("99940032104K") == _by_hand("99940032104K")


@pytest.mark.parametrize("upn, reason", [
    ("A99940011900", "wrong length"),
    ("A9994001190077", "wrong length"),
    ("", "wrong length"),
    ("A99940011900X7"[:13].replace("X", "x"), "bad characters"),
    ("1999400119007", "bad characters"),
    ("A999400119I07", "bad characters"),
    ("A99940011900I", "bad characters"),  # I is not in the check alphabet
    ("B999400119007", "wrong check letter"),
])
def test_invalid_upns_give_a_reason(upn, reason):
    found = validate_upn(upn)
    assert found is not None and found.startswith(reason), found
    assert not is_valid_upn(upn)


def test_make_upn_rejects_bad_parts():
    with pytest.raises(ValueError):
        make_upn("99", "4001", 2019, 1)
    with pytest.raises(ValueError):
        make_upn("999", "4001", 2019, 1000)


def test_many_upns_at_once_agree_with_one_at_a_time():
    import random
    from b2b_soap.matching.upn import valid_upns
    rng = random.Random(3)
    upns = ["", "A999400119007", "a999400119007", "A99940011900", "Ä999400119007", "A99940011900I"]
    for _ in range(3000):
        tail = "".join(rng.choice("0123456789") for _ in range(11)) + rng.choice("0123456789" + UPN_ALPHABET + "IS")
        upns.append(rng.choice((upn_check_letter(tail[:11] + "0")[0], rng.choice(UPN_ALPHABET + "I1"))) + tail)
    valid, permanent = valid_upns(upns)
    assert valid.tolist() == [is_valid_upn(u) for u in upns]
    assert permanent.tolist() == [is_valid_upn(u) and u[-1].isdigit() for u in upns]
    assert 0 < valid.sum() < len(upns)
