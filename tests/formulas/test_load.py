"""Loading, validating, discovering and rendering formulas (pure: files in tmp dirs, no town)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gastown.formulas import BUILTIN_DIR, FormulaError, discover, load_file, parse_formula, render
from gastown.formulas.render import HUMAN_CRITERIA

FIXTURES = Path(__file__).parent / "fixtures"
BUILTINS = ("feature", "bugfix", "refactor", "docs", "release")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.formula.toml")), ids=lambda p: p.name)
def test_every_fixture_loads(path: Path):
    loaded = load_file(path)
    assert loaded.name == path.name.removesuffix(".formula.toml")
    assert loaded.formula.steps


def test_fixture_details_as_beads_wrote_them():
    feature = load_file(FIXTURES / "feature-workflow.formula.toml").formula
    assert feature.required_vars == ["feature_name"]
    assert feature.human_steps == ["design", "review"]
    assert [s.requires for s in feature.steps] == [[], ["design"], ["implement"], ["test"], ["review"]]
    release = load_file(FIXTURES / "release.formula.toml").formula
    assert release.vars["version"].pattern == r"^\d+\.\d+\.\d+$"
    quick = load_file(FIXTURES / "quick-check.formula.toml").formula
    assert quick.vars == {} and quick.steps[-1].requires == ["lint", "test", "build"]


def test_builtins_ship_and_every_step_has_acceptance_criteria():
    catalog = discover(None, home=Path("/nonexistent"))
    assert catalog.problems == {}
    assert set(BUILTINS) <= set(catalog.formulas)
    for name in BUILTINS:
        found = catalog.formulas[name]
        assert found.origin == "builtin" and found.path.parent == BUILTIN_DIR
        assert found.formula.required_vars, f"{name} takes the work it is about as a variable"
        for step in found.formula.steps:
            assert len(step.acceptance_criteria.strip()) > 30, f"{name}.{step.id} needs acceptance criteria"


def test_project_overrides_user_overrides_builtin(tmp_path: Path):
    home, project = tmp_path / "home", tmp_path / "project"
    (home / ".beads" / "formulas").mkdir(parents=True)
    (project / ".beads" / "formulas").mkdir(parents=True)
    for folder in (home, project):
        (folder / ".beads" / "formulas" / "release.formula.toml").write_text(
            (FIXTURES / "release.formula.toml").read_text().replace("Standard release", f"{folder.name} release"))
    (home / ".beads" / "formulas" / "quick-check.formula.toml").write_text(
        (FIXTURES / "quick-check.formula.toml").read_text())
    catalog = discover(project, home=home)
    assert catalog.get("release").origin == "project"
    assert catalog.get("release").formula.description.startswith("project release")
    assert catalog.get("release").shadows == ["user"]
    assert catalog.get("quick-check").origin == "user"
    assert catalog.get("feature").origin == "builtin"
    with pytest.raises(FormulaError, match="no formula named 'nope'"):
        catalog.get("nope")


def test_a_broken_project_file_is_not_replaced_by_the_builtin(tmp_path: Path):
    folder = tmp_path / ".beads" / "formulas"
    folder.mkdir(parents=True)
    (folder / "feature.formula.toml").write_text('formula = "feature"\n[[steps]]\nid = "a"\n')
    catalog = discover(tmp_path, home=tmp_path / "home")
    assert "feature" in catalog.problems and "feature" not in catalog.formulas
    with pytest.raises(FormulaError, match=r"feature\.formula\.toml: line 2: steps\[0\] \(a\)\.title: Field required"):
        catalog.get("feature")


# --- malformed formulas: a clear error naming the file, the line and the field ------------------------------
GOOD = (FIXTURES / "feature-workflow.formula.toml").read_text()


def problems_of(text: str, name: str = "feature-workflow") -> str:
    with pytest.raises(FormulaError) as caught:
        parse_formula(text, f"{name}.formula.toml", expect_name=name)
    return str(caught.value)


def test_bad_toml_names_the_line():
    text = GOOD.replace('needs = ["design"]', 'needs = ["design"', 1)
    message = problems_of(text)
    assert message.startswith("formula feature-workflow.formula.toml: line 20: ")
    assert "not valid TOML" in message


def test_unknown_variable_names_step_field_and_line():
    text = GOOD.replace('title = "Run test suite"', 'title = "Run tests for {{feature}}"')
    message = problems_of(text)
    assert "line 24: steps[2] (test).title: unknown variable {{feature}} (declared: feature_name)" in message


def test_needs_cycle():
    text = GOOD.replace('id = "design"\n', 'id = "design"\nneeds = ["merge"]\n')
    message = problems_of(text)
    assert "steps[0] (design).needs: a needs cycle: design -> merge -> review -> test -> implement -> design" \
        in message
    assert "line 12:" in message


def test_unknown_step_unknown_field_and_bad_type():
    text = GOOD.replace('type = "human"\ndescription = "Open PR', 'type = "person"\nowner = "me"\ndescription = "Open PR')
    message = problems_of(text)  # every shape problem at once
    assert "line 33: steps[3] (review).owner: unknown field" in message
    assert "line 32: steps[3] (review).type: 'person' is not supported (use one of task, bug, feature, chore, " \
        "human or gate)" in message
    message = problems_of(GOOD.replace('needs = ["implement"]', 'needs = ["implemnt"]'))
    assert "line 25: steps[2] (test).needs: unknown step 'implemnt'" in message


def test_required_var_with_default_and_a_bad_pattern():
    text = GOOD.replace("required = true", 'required = true\ndefault = "x"\npattern = "("')
    message = problems_of(text)
    assert "vars.feature_name: a variable cannot be both required and have a default" in message
    assert "line 6:" in message  # the variable's table


def test_unsupported_beads_features_are_refused_in_words():
    text = GOOD + '\n[[steps]]\nid = "again"\ntitle = "Again"\n[steps.loop]\ncount = 2\n'
    message = problems_of(text)
    assert "steps[5] (again).loop: loops are not supported yet" in message
    assert "line 44:" in message  # its [steps.loop] table
    message = problems_of(GOOD.replace('type = "workflow"', 'type = "expansion"'))
    assert "type: expansion formulas are not supported yet" in message
    assert "extends" in problems_of('extends = ["base"]\n' + GOOD)


def test_name_must_match_the_file():
    assert "does not match the file name other.formula.toml" in problems_of(GOOD, name="other")


def test_beads_gate_and_shorthand_vars_load_and_a_gated_step_is_human():
    text = ('formula = "ship"\nversion = 1\n[vars]\nenv = "staging"\n[[steps]]\nid = "push"\ntitle = "Push"\n'
            '[[steps]]\nid = "await-ci"\ntitle = "Await CI in {{env}}"\nneeds = ["push"]\n'
            '[steps.gate]\ntype = "gh:run"\nid = "release.yml"\ntimeout = "30m"\n'
            '[[steps]]\nid = "approval"\ntitle = "Approval"\ntype = "gate"\nneeds = ["await-ci"]\n')
    formula = parse_formula(text, "ship.formula.toml", expect_name="ship")
    assert formula.vars["env"].default == "staging"
    assert formula.human_steps == ["await-ci", "approval"]
    rendered = render(formula, {})
    gated = rendered.steps[1]
    assert rendered.steps[2].human and rendered.steps[2].issue_type == "task"
    assert gated.human and gated.title == "Await CI in staging"
    assert "Gate: gh:run release.yml (timeout 30m)" in gated.description


# --- rendering with variables ---------------------------------------------------------------------------------
def test_render_substitutes_and_keeps_deps():
    formula = load_file(FIXTURES / "feature-workflow.formula.toml").formula
    rendered = render(formula, {"feature_name": "CSV export"})
    assert [s.title for s in rendered.steps][:2] == ["Design CSV export", "Implement CSV export"]
    assert [(s.key, s.needs, s.human) for s in rendered.steps] == [
        ("design", [], True), ("implement", ["design"], False), ("test", ["implement"], False),
        ("review", ["test"], True), ("merge", ["review"], False)]
    assert rendered.steps[0].acceptance_criteria == HUMAN_CRITERIA
    assert rendered.steps[1].acceptance_criteria.startswith("Done as the step describes: Write the code.")


def test_render_refuses_missing_unknown_and_invalid_values():
    feature = load_file(FIXTURES / "feature-workflow.formula.toml").formula
    with pytest.raises(FormulaError, match=r"vars\.feature_name: required variable is missing"):
        render(feature, {})
    with pytest.raises(FormulaError, match=r"vars\.colour: unknown variable \(this formula takes: feature_name\)"):
        render(feature, {"feature_name": "x", "colour": "red"})
    release = load_file(FIXTURES / "release.formula.toml").formula
    with pytest.raises(FormulaError, match=r"vars\.version: '1\.2' does not match the pattern"):
        render(release, {"version": "1.2"})
    refactor = discover(None, home=Path("/nonexistent")).get("refactor").formula
    with pytest.raises(FormulaError, match=r"vars\.aim: 'speed' is not one of readability"):
        render(refactor, {"target": "calc.add", "aim": "speed"})


def test_conditions_leave_steps_out_and_rewire_needs():
    text = ('formula = "c"\n[vars.docs]\ndefault = "no"\n'
            '[[steps]]\nid = "a"\ntitle = "A"\n'
            '[[steps]]\nid = "b"\ntitle = "B"\nneeds = ["a"]\ncondition = "{{docs}} == yes"\n'
            '[[steps]]\nid = "c"\ntitle = "C"\nneeds = ["b"]\n')
    formula = parse_formula(text, "c.formula.toml", expect_name="c")
    without = render(formula, {})
    assert [(s.key, s.needs) for s in without.steps] == [("a", []), ("c", ["a"])]
    assert without.skipped == ["b"]
    with_docs = render(formula, {"docs": "yes"})
    assert [(s.key, s.needs) for s in with_docs.steps] == [("a", []), ("b", ["a"]), ("c", ["b"])]
    assert "is not one of the forms" in problems_of(text.replace("{{docs}} == yes", "docs > 1"), name="c")
