"""The server's match model is data: trained by EM on the LA's own records, thresholds set, reset."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from b2b_soap.db import AuditEntry, session_scope
from b2b_soap.errors import ValidationFailed
from b2b_soap.processing.model import default_model, load_model
from b2b_soap.processing.training import describe_model, reset_model, set_thresholds, train_and_store
from b2b_soap.synth import generate_population
from processing_support import add_base, add_bystander, add_person, address, pupil, upload_and_process

pytest_plugins = ["test_cli_support"]  # the cli fixture


def _population_and_one_file(ctx, count: int = 80) -> None:
    base_id = add_base(ctx)
    add_bystander(ctx)
    children = [p for p in generate_population(400, seed=5)[0] if p.is_child][:count]
    pupils = []
    for i, child in enumerate(children):
        home = address(paon=str(i + 1))
        add_person(ctx, forename=child.forename, surname=child.surname, dob=child.dob, gender=child.gender,
                   address=home.line, town=home.town, postcode=home.postcode)
        pupils.append(pupil(child.forename, child.surname, child.dob, gender=child.gender, home=home))
    upload_and_process(ctx, base_id, pupils)


def test_training_stores_weights_estimated_from_the_las_records(ctx):
    _population_and_one_file(ctx)
    with session_scope(ctx.sessions) as session:
        summary = train_and_store(session, "trainer")
    assert (summary["persons"], summary["incoming"]) == (81, 80)
    with session_scope(ctx.sessions) as session:
        trained = load_model(session)
        assert describe_model(session)["source"].startswith("stored by trainer")
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "matching.train"))
        weights = describe_model(session)["weights"]
    assert trained.m != default_model().m
    assert 0 < trained.match_rate <= 1
    # the pupils' genders were compared in training: agreeing counts for a match, differing against
    assert weights["gender"]["exact"] > 0 > weights["gender"]["else"]


def test_thresholds_are_validated_stored_and_reset(ctx):
    with session_scope(ctx.sessions) as session:
        assert set_thresholds(session, "admin", auto_threshold=0.99)["auto_threshold"] == 0.99
    with session_scope(ctx.sessions) as session:
        assert load_model(session).settings.auto_threshold == 0.99
        with pytest.raises(ValidationFailed, match="possible_threshold <= auto_threshold"):
            set_thresholds(session, "admin", possible_threshold=0.995)
        with pytest.raises(ValidationFailed, match="unknown threshold"):
            set_thresholds(session, "admin", jw_low=0.5)
    with session_scope(ctx.sessions) as session:
        reset_model(session, "admin")
    with session_scope(ctx.sessions) as session:
        assert describe_model(session)["source"] == "built-in prior"
        assert load_model(session).settings.auto_threshold == default_model().settings.auto_threshold


def test_matching_commands(cli):
    cli.ok("init", "--admin-user", "boss", "--password-stdin", stdin="a long enough password\n")
    assert cli.json("matching", "show")["source"] == "built-in prior"
    assert "training needs persons" in cli.fails("matching", "train")
    cli.ok("matching", "set", "--auto-threshold", "0.97", "--max-possible", "3")
    shown = cli.json("matching", "show")
    assert (shown["auto_threshold"], shown["max_possible"]) == (0.97, 3)
    assert "possible_threshold" in cli.fails("matching", "set", "--possible-threshold", "0.99")
    cli.ok("matching", "reset")
    assert cli.json("matching", "show")["source"] == "built-in prior"
