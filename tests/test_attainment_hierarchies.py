"""Aspects and aspect hierarchies: add, list, search by prefix, load from JSON and CSV."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from b2b_soap.attainment.examples import EXAMPLE_HIERARCHY_FILE
from b2b_soap.attainment.hierarchies import (AspectSpec, HierarchySpec, add_aspect, add_hierarchy,
                                             hierarchy_to_dict, list_aspects, list_hierarchies,
                                             load_hierarchy_file, search_hierarchies)
from b2b_soap.db import Aspect, AspectHierarchy, session_scope
from b2b_soap.errors import ValidationFailed
from test_attainment_support import ACTOR, att_ctx, att_settings, vendor_key  # noqa: F401


def test_example_file_loads_and_is_searchable_by_prefix(att_ctx):
    with session_scope(att_ctx.sessions) as session:
        loaded = load_hierarchy_file(session, ACTOR, EXAMPLE_HIERARCHY_FILE)
        assert loaded == {"aspects": 33, "hierarchies": 5}
        ks2 = hierarchy_to_dict(session, search_hierarchies(session, "B2B KS2")[0])
        assert ks2["name"] == "B2B KS2 2026"
        assert ks2["aspects"][:3] == ["MTC_MARK", "KS2_ENG_READ", "KS2_ENG_WRIT"]
        assert [h.name for h in search_hierarchies(session, "b2b")] == [
            "B2B EYFSP 2026", "B2B KS1 2026", "B2B KS2 2026", "B2B Phonics 2026", "B2B Primary 2026"]
        assert search_hierarchies(session, "B2B_") == [] and search_hierarchies(session, "%") == []
        gld = session.scalar(select(Aspect).where(Aspect.code == "EYFSP_GLD"))
        assert (gld.result_type, gld.grade_set, gld.ncys) == ("grade", ["Y", "N"], "R")
        mark = session.scalar(select(Aspect).where(Aspect.code == "PSC_MARK"))
        assert (mark.mark_min, mark.mark_max, mark.ncys) == (0, 40, "1,2")


def test_reloading_updates_aspects_and_hierarchy_order(att_ctx, tmp_path):
    data = json.loads(EXAMPLE_HIERARCHY_FILE.read_text())
    with session_scope(att_ctx.sessions) as session:
        load_hierarchy_file(session, ACTOR, EXAMPLE_HIERARCHY_FILE)
    data["aspects"][0]["name"] = "Renamed"
    data["hierarchies"] = [{"name": "B2B Phonics 2026", "aspects": ["PSC_OUTCOME", "PSC_MARK"]}]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    with session_scope(att_ctx.sessions) as session:
        load_hierarchy_file(session, ACTOR, changed)
        phonics = search_hierarchies(session, "B2B Phonics")[0]
        assert hierarchy_to_dict(session, phonics)["aspects"] == ["PSC_OUTCOME", "PSC_MARK"]
        renamed = session.scalar(select(Aspect.name).where(Aspect.code == data["aspects"][0]["code"]))
        assert renamed == "Renamed"
        assert len(list_hierarchies(session)) == 5


def test_csv_file_loads(att_ctx, tmp_path):
    path = tmp_path / "aspects.csv"
    path.write_text("hierarchy,code,name,type,grades,min,max,ncys\n"
                    "B2B Y3 2026,Y3_READ,Year 3 reading,grade,EXS|WTS|GDS,,,3\n"
                    "B2B Y3 2026,Y3_SPELL,Year 3 spelling,mark,,0,20,3\n"
                    "B2B Y3 2026,Y3_NOTE,Year 3 note,text,,,,3\n")
    with session_scope(att_ctx.sessions) as session:
        assert load_hierarchy_file(session, ACTOR, path) == {"aspects": 3, "hierarchies": 1}
        assert hierarchy_to_dict(session, search_hierarchies(session, "B2B Y3")[0])["aspects"] == [
            "Y3_READ", "Y3_SPELL", "Y3_NOTE"]


def test_a_bad_file_reports_every_problem_and_stores_nothing(att_ctx, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({
        "aspects": [{"code": "OK_1", "name": "fine", "type": "text"},
                    {"code": "bad code", "name": "x", "type": "grade"},
                    {"code": "M1", "name": "mark", "type": "mark", "min": 10, "max": 5, "ncys": ["7", "Y9"]}],
        "hierarchies": [{"name": "B2B Bad", "aspects": ["OK_1", "NOPE"]}]}))
    with session_scope(att_ctx.sessions) as session:
        with pytest.raises(ValidationFailed) as refused:
            load_hierarchy_file(session, ACTOR, path)
    for expected in ("code must be", "needs a grade set", "min <= max", "unknown NCY Y9",
                        "unknown aspect(s) NOPE"):
        assert expected in refused.value.message
    with session_scope(att_ctx.sessions) as session:
        assert list_aspects(session) == [] and session.scalars(select(AspectHierarchy)).all() == []


def test_add_aspect_and_hierarchy(att_ctx):
    with session_scope(att_ctx.sessions) as session:
        add_aspect(session, ACTOR, AspectSpec("KS2_MAT", "Maths", "grade", grades=["EXS", "WTS", "EXS"],
                                              ncys=["6", "5"]))
        add_aspect(session, ACTOR, AspectSpec("KS2_MAT_SS", "Maths score", "mark", mark_min=80, mark_max=120))
        spec = HierarchySpec("B2B KS2 2026", aspects=["KS2_MAT_SS", "KS2_MAT"])
        hierarchy = add_hierarchy(session, ACTOR, spec)
        assert hierarchy_to_dict(session, hierarchy)["aspects"] == ["KS2_MAT_SS", "KS2_MAT"]
        maths = list_aspects(session)[0]
        assert (maths.grade_set, maths.ncys) == (["EXS", "WTS"], "5,6")
        with pytest.raises(ValidationFailed, match="already exists"):
            add_aspect(session, ACTOR, AspectSpec("KS2_MAT", "again", "text"))
        with pytest.raises(ValidationFailed, match="already exists"):
            add_hierarchy(session, ACTOR, HierarchySpec("B2B KS2 2026", aspects=[]))
        with pytest.raises(ValidationFailed, match="unknown aspect"):
            add_hierarchy(session, ACTOR, HierarchySpec("B2B Other", aspects=["KS9"]))
