import json

import pytest

from b2b_soap.matching import MatchModel, MatchSettings, ModelError, SettingsError
from tests.test_matching_rules import reference_model


def test_model_round_trips_through_json(tmp_path):
    model = reference_model(auto_threshold=0.97, max_possible=3)
    assert MatchModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model
    path = tmp_path / "model.json"
    model.save(path)
    assert MatchModel.load(path) == model
    data = json.loads(path.read_text())
    assert data["levels"]["dob"][1] == "exact"


def test_settings_round_trip_and_errors():
    settings = MatchSettings(min_lead_bits=3)
    assert MatchSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(SettingsError) as error:
        MatchSettings(blocking_rules=("nonsense",), possible_threshold=0.99, auto_threshold=0.5)
    assert len(error.value.problems) == 2
    with pytest.raises(SettingsError):
        MatchSettings.from_dict({"colour": "blue"})


def test_bad_models_are_refused(tmp_path):
    data = reference_model().to_dict()
    data["m"]["dob"] = [1.0, 0.5]
    with pytest.raises(ModelError):
        MatchModel.from_dict(data)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError):
        MatchModel.load(tmp_path / "bad.json")
    with pytest.raises(ModelError):
        MatchModel.load(tmp_path / "missing.json")


def test_model_saved_before_a_level_was_added_scores_it_as_else():
    model = reference_model()
    data = model.to_dict()
    dob = model.settings.comparisons[2]
    assert dob.name == "dob" and "year differs" in dob.levels
    older = [label for label in dob.levels if label != "year differs"]
    data["levels"]["dob"] = older
    data["m"]["dob"] = [m for m, label in zip(model.m[2], dob.levels) if label in older]
    data["u"]["dob"] = [u for u, label in zip(model.u[2], dob.levels) if label in older]
    loaded = MatchModel.from_dict(json.loads(json.dumps(data)))
    bits = dict(zip(dob.levels, loaded.level_bits(2).tolist()))
    assert bits["year differs"] == bits["else"]
    assert bits["exact"] == dict(zip(dob.levels, model.level_bits(2).tolist()))["exact"]
