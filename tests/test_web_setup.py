"""The set-up pages over HTTP: each change made through the same admin function as the CLI, with its audit row."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from b2b_soap.db import (Aspect, AttainmentResult, AuditEntry, Base, GroupPermission, SuspenseItem, User,
                         VirtualFile, session_scope)
from b2b_soap.licensing import ATTAINMENT_FEATURES
from b2b_soap.licensing import B2B_ATTAINMENT, B2B_STUDENT, issue_licence, load_private_key
from b2b_soap.web import make_web_app
from test_web_pages import _text, client, world  # noqa: F401 (fixtures)
from test_web_support import post_form, sign_in


def _trail(world, object_type: str) -> list[str]:
    with world.ctx.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.object_type == object_type,
                                                              AuditEntry.actor == "reviewer").order_by(AuditEntry.id)))


def test_bases_added_and_flag_toggled(client, world):
    assert "9991001" in _text(client, "/setup/bases") and 'id="flag-9991001">Yes<' in _text(client, "/setup/bases")
    response = post_form(client, "/setup/bases", "/setup/bases", {"laestab": "9993003", "name": "Ash School", "b2b": "yes"})
    assert response.status_code == 302 and "Base 9993003 added" in _text(client, response.headers["Location"])
    refused = post_form(client, "/setup/bases", "/setup/bases", {"laestab": "12", "name": "Bad"})
    assert refused.status_code == 400 and "The change was not made" in refused.get_data(as_text=True)
    post_form(client, "/setup/bases", "/setup/bases/9993003/b2b", {"enabled": "no"})
    assert 'id="flag-9993003">No<' in _text(client, "/setup/bases")
    with world.ctx.sessions() as s:
        assert s.scalar(select(Base.b2b_enabled).where(Base.laestab == "9993003")) is False
    assert _trail(world, "base") == ["base.add", "base.set_b2b"]


def test_users_added_password_reset_and_unlocked(client, world):
    response = post_form(client, "/setup/users", "/setup/users",
                         {"username": "school9", "password": "a long enough pass phrase", "base": "9991001"})
    assert response.status_code == 302
    refused = post_form(client, "/setup/users", "/setup/users", {"username": "school9", "password": "x"})
    assert refused.status_code == 400 and "already exists" in refused.get_data(as_text=True)
    with world.ctx.sessions() as s:
        user = s.scalar(select(User).where(User.username == "school9"))
        assert user.kind == "school"
        old_hash = user.password_hash
    post_form(client, "/setup/users", "/setup/users/school9/password", {"password": "another long pass phrase"})
    with session_scope(world.ctx.sessions) as s:
        user = s.scalar(select(User).where(User.username == "school9"))
        assert user.password_hash != old_hash
        user.locked = True
    assert 'id="locked-school9">Yes<' in _text(client, "/setup/users")
    post_form(client, "/setup/users", "/setup/users/school9/unlock", {})
    assert 'id="locked-school9">No<' in _text(client, "/setup/users")
    assert _trail(world, "user") == ["web.sign_in", "user.add", "user.passwd", "user.unlock"]


def test_groups_and_permissions(client, world):
    post_form(client, "/setup/groups", "/setup/groups", {"name": "auditors", "description": "read only"})
    post_form(client, "/setup/groups", "/setup/groups/grant",
              {"group": "auditors", "process": "Reports", "level": "Read"})
    post_form(client, "/setup/groups", "/setup/groups/member", {"group": "auditors", "username": "reader"})
    page = _text(client, "/setup/groups")
    assert "Reports=Read" in page and "reader" in page
    refused = post_form(client, "/setup/groups", "/setup/groups/member", {"group": "auditors", "username": "reader"})
    assert refused.status_code == 400 and "already in group" in refused.get_data(as_text=True)
    with world.ctx.sessions() as s:
        assert s.scalar(select(GroupPermission.level).where(GroupPermission.process == "Reports")
                        .order_by(GroupPermission.group_id.desc())) == "Read"
    assert _trail(world, "group") == ["group.add", "group.grant", "group.member_add"]


def test_licence_shown_and_installed(client, world):
    page = _text(client, "/setup/licence")
    assert B2B_STUDENT in page and B2B_ATTAINMENT not in page
    assert "licence refused" in post_form(client, "/setup/licence", "/setup/licence", {"key": "nonsense"}).get_data(as_text=True)
    key = issue_licence(load_private_key(world.private_key_path), "999", [B2B_STUDENT, B2B_ATTAINMENT],
                        date.today() + timedelta(days=30))
    response = post_form(client, "/setup/licence", "/setup/licence", {"key": key})
    page = _text(client, response.headers["Location"])
    assert "The licence has been installed" in page and B2B_ATTAINMENT in page
    assert _trail(world, "licence") == ["licence.install"]


def test_attainment_pages_and_permissions(client, world):
    assert "No aspect hierarchy has been added" in _text(client, "/setup/hierarchies")
    assert "No result is waiting in suspense" in _text(client, "/setup/suspense")
    reader = make_web_app(world.ctx).test_client()
    sign_in(reader, "reader")
    assert reader.get("/setup/bases").status_code == 403
    assert reader.get("/setup/hierarchies").status_code == 403
    assert reader.post("/setup/bases", data={"laestab": "9994004", "name": "X"}).status_code in (400, 403)


def test_success_messages_are_fixed_codes_not_text_from_the_address(client):
    crafted = _text(client, "/setup/bases?done=Your+licence+has+expired,+call+0800+000")
    assert "licence has expired" not in crafted and "Success" not in crafted
    assert "Base 9991001 is now a B2B Student Base" in _text(client, "/setup/bases?done=flag_set&subject=9991001")
    invented = _text(client, "/setup/bases?done=base_added&subject=Call+0800+000")
    assert "0800" not in invented and "Success" not in invented
    assert "Success" not in _text(client, "/setup/users?done=user_added&subject=nobody-here")


def _suspense_items(world) -> list[int]:
    """Two open results (two collection dates) of an unknown pupil in one attainment file, for a known aspect."""
    import uuid
    with session_scope(world.ctx.sessions) as s:
        aspect = Aspect(code="KS2_ENG_READ", name="Reading", result_type="grade", grade_set=["EXS", "GDS"])
        file = VirtualFile(id=str(uuid.uuid4()), file_guid=str(uuid.uuid4()), base_id=world.base_ids["9991001"],
                           data_type="Attainment", file_name="att.xml", total_bytes=1, sha256="0" * 64, status="Processed")
        s.add_all([aspect, file])
        s.flush()
        items = [SuspenseItem(file_id=file.id, base_id=file.base_id, sims_guid="G-1", forename="Ada", surname="Stray",
                              aspect_code="KS2_ENG_READ", value=value, collection_date=date(2026, 7, day),
                              reason="no pupil matches", detail={"problems": {"pupil": "no pupil matches"},
                                                                 "aspect_id": aspect.id})
                 for day, value in ((1, "EXS"), (2, "GDS"))]
        s.add_all(items)
        s.flush()
        return [item.id for item in items]


def _install_attainment_licence(client, world) -> None:
    key = issue_licence(load_private_key(world.private_key_path), "999", list(ATTAINMENT_FEATURES),
                        date.today() + timedelta(days=30))
    post_form(client, "/setup/licence", "/setup/licence", {"key": key})


def test_suspense_resolved_on_its_page(client, world):
    first, second = _suspense_items(world)
    page = f"/setup/suspense/{first}"
    assert f'href="{page}"' in _text(client, "/setup/suspense") and "Stray, Ada" in _text(client, page)
    assert client.post(page, data={"action": "discard"}).status_code in (400, 403)  # no CSRF token
    refused = post_form(client, page, page, {"action": "person", "person_id": "abc"})
    assert refused.status_code == 400 and "Enter the number of the person" in refused.get_data(as_text=True)
    unlicensed = post_form(client, page, page, {"action": "person", "person_id": str(world.ids["amy_person"])})
    assert unlicensed.status_code == 400 and "licence does not include" in unlicensed.get_data(as_text=True)
    _install_attainment_licence(client, world)
    matched = post_form(client, page, page, {"action": "person", "person_id": str(world.ids["amy_person"])})
    assert matched.status_code == 302 and "The pupil has been matched" in _text(client, matched.headers["Location"])
    with world.ctx.sessions() as s:  # both results of the pupil are imported
        assert s.scalar(select(func.count()).select_from(AttainmentResult)) == 2
        assert set(s.scalars(select(SuspenseItem.status))) == {"resolved"}
    assert "No result is waiting in suspense" in _text(client, "/setup/suspense")
    assert _trail(world, "suspense_item") == ["suspense.resolve"]


def test_suspense_discarded_and_only_by_a_writer(client, world):
    first, second = _suspense_items(world)
    reader = make_web_app(world.ctx).test_client()
    sign_in(reader, "reader")
    assert "Discard this result" not in _text(reader, f"/setup/suspense/{first}")
    assert post_form(reader, f"/setup/suspense/{first}", f"/setup/suspense/{first}", {"action": "discard"}).status_code == 403
    done = post_form(client, f"/setup/suspense/{first}", f"/setup/suspense/{first}", {"action": "discard"})
    assert "The result has been discarded" in _text(client, done.headers["Location"])
    with world.ctx.sessions() as s:
        assert s.get(SuspenseItem, first).status == "discarded" and s.get(SuspenseItem, second).status == "open"
    assert "Resolved by reviewer" in _text(client, f"/setup/suspense/{first}")
    assert _trail(world, "suspense_item") == ["suspense.resolve"]
