"""Example attainment for a primary school, for tests, the benchmark and the demo.

Results follow ``schemas/examples/aspects-b2b-2026.json``: EYFSP in Reception, the
phonics check in Year 1 (re-check in Year 2), KS1 in Year 2, the multiplication tables
check in Year 4, KS2 teacher assessment in Years 3-6 and the KS2 tests in Year 6.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Iterable

from ..resources import package_path
from ..transfer.models import AttainmentPupil, AttainmentResult, IncomingPupil

__all__ = ["EXAMPLE_HIERARCHY_FILE", "make_school_attainment"]

EXAMPLE_HIERARCHY_FILE = package_path("schemas", "examples", "aspects-b2b-2026.json")

_ELGS = ("COM_LAU", "COM_SPK", "PSE_SR", "PSE_MS", "PSE_BR", "PD_GMS", "PD_FMS", "LIT_COM", "LIT_WR",
         "LIT_WRI", "MAT_NUM", "MAT_NPT", "UW_PP", "UW_PCC", "UW_NW", "EAD_CWM", "EAD_BIE")
_TA = ("GDS",) * 2 + ("EXS",) * 6 + ("WTS",) * 2 + ("PK4", "BLW")


def _eyfsp(rng: random.Random) -> list[tuple[str, str]]:
    grades = [("EYFSP_" + elg, "Expected" if rng.random() < 0.78 else "Emerging") for elg in _ELGS]
    good = all(g == "Expected" for code, g in grades if code[6:9] in ("COM", "PSE", "PD_", "LIT", "MAT"))
    return grades + [("EYFSP_GLD", "Y" if good else "N")]


def _phonics(rng: random.Random) -> list[tuple[str, str]]:
    mark = min(40, max(0, int(rng.gauss(33, 6))))
    return [("PSC_MARK", str(mark)), ("PSC_OUTCOME", "WA" if mark >= 32 else "WT")]


def _ks2_tests(rng: random.Random) -> list[tuple[str, str]]:
    return [(code, str(min(120, max(80, int(rng.gauss(104, 7))))))
            for code in ("KS2_READ_SS", "KS2_GPS_SS", "KS2_MAT_SS")]


def _results_for(ncy: str, rng: random.Random) -> list[tuple[str, str]]:
    if ncy == "R":
        return _eyfsp(rng)
    if ncy == "1":
        return _phonics(rng)
    if ncy == "2":
        ta = [(code, rng.choice(_TA)) for code in ("KS1_READ", "KS1_WRIT", "KS1_MAT")]
        retake = _phonics(rng) if rng.random() < 0.15 else []
        return ta + [("KS1_SCI", "EXS" if rng.random() < 0.85 else "HNM"),
                     ("KS1_NOTE", "Secure across the curriculum")] + retake
    if ncy in ("3", "4", "5", "6"):
        ta = [(code, rng.choice(_TA).replace("PK4", "PK6"))
              for code in ("KS2_ENG_READ", "KS2_ENG_WRIT", "KS2_MAT")]
        ta.append(("KS2_SCI", "EXS" if rng.random() < 0.8 else "HNM"))
        if ncy == "4":
            ta.append(("MTC_MARK", str(rng.randint(8, 25))))
        return ta + (_ks2_tests(rng) if ncy == "6" else [])
    return []


def make_school_attainment(pupils: Iterable[IncomingPupil], seed: int = 0, terms: int = 1,
                           first_collection: dt.date = dt.date(2026, 7, 10)) -> list[AttainmentPupil]:
    """Attainment pupils with the results their NCY has, one set per term (newest first).

    Args:
        pupils: example pupils (``transfer.writer.make_example_pupils``); Y7+ get no results.
        terms: collections per pupil, each 91 days before the last; more terms, bigger files.
    """
    rng = random.Random(seed)
    dates = [first_collection - dt.timedelta(days=91 * term) for term in range(terms)]
    return [AttainmentPupil(sims_guid=p.sims_guid, upn=p.upn, forename=p.forename, surname=p.surname,
                            dob=p.dob, ncy=p.ncy,
                            results=[AttainmentResult(code, value, day) for day in dates
                                     for code, value in _results_for(p.ncy, rng)])
            for p in pupils if p.ncy in ("R", "1", "2", "3", "4", "5", "6")]
