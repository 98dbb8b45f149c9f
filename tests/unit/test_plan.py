from gastown.town.plan import Plan, PlanTask, plan_problems


def task(key: str, *deps: str, criteria: str = "it works") -> PlanTask:
    return PlanTask(key=key, title=f"do {key}", acceptance_criteria=criteria, depends_on=list(deps))


def test_valid_plan_has_no_problems():
    assert plan_problems(Plan(title="g", tasks=[task("a"), task("b", "a")])) == []


def test_unknown_key_self_dep_and_empty_criteria():
    problems = plan_problems(Plan(title="g", tasks=[task("a", "zzz"), task("b", "b", criteria="  ")]))
    text = " | ".join(problems)
    assert "unknown key 'zzz'" in text
    assert "'b' depends on itself" in text
    assert "'b' has empty acceptance_criteria" in text


def test_cycle_is_named():
    problems = plan_problems(Plan(title="g", tasks=[task("a", "c"), task("b", "a"), task("c", "b")]))
    cycle = [p for p in problems if p.startswith("dependency cycle")]
    assert cycle and all(k in cycle[0] for k in ("a", "b", "c"))


def test_size_bound_and_duplicates():
    plan = Plan(title="g", tasks=[task("a"), task("a"), task("b")])
    problems = plan_problems(plan, max_size=2)
    assert any("1..2 tasks" in p for p in problems)
    assert any("duplicate task keys: a" in p for p in problems)
