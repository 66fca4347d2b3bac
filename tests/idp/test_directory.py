"""The generated directory: deterministic, well formed, and aged exactly as documented."""

from __future__ import annotations

import pytest

from harness.idp.directory import (
    DEPARTMENTS,
    REVISION_HELP,
    Directory,
    compare,
    generate_directory,
)


@pytest.fixture(scope="module")
def base() -> Directory:
    return generate_directory(7, 400, 14, "corp.example", 0)


@pytest.fixture(scope="module")
def aged() -> Directory:
    return generate_directory(7, 400, 14, "corp.example", 1)


def test_same_arguments_give_the_same_directory(base: Directory) -> None:
    """Two runs of a sync must be comparable: the seed fixes every name, id and link."""
    again = generate_directory(7, 400, 14, "corp.example", 0)
    assert again == base
    assert generate_directory(7, 400, 14, "corp.example", 3) == generate_directory(
        7, 400, 14, "corp.example", 3
    )


def test_another_seed_gives_another_directory(base: Directory) -> None:
    other = generate_directory(8, 400, 14, "corp.example", 0)
    assert {u.external_id for u in other.users}.isdisjoint({u.external_id for u in base.users})
    assert [u.user_name for u in other.users] != [u.user_name for u in base.users]


def test_sizes_and_identity_rules(base: Directory) -> None:
    """userName is the e-mail on the domain (SPEC), unique; externalId is unique and Okta-like."""
    assert len(base.users) == 400
    assert len(base.groups) == 14
    names = [u.user_name for u in base.users]
    assert len(set(names)) == len(names)
    assert len({u.external_id for u in base.users}) == 400
    for user in base.users:
        assert user.user_name == user.email
        assert user.email.endswith("@corp.example")
        assert user.display_name == f"{user.given_name} {user.family_name}"
        assert user.external_id.startswith("00u")
        assert len(user.external_id) == 20
        assert user.title
        assert user.department
        assert user.employee_number
        assert user.active
    assert len({u.employee_number for u in base.users}) == 400


def test_org_chart_is_a_tree_rooted_at_the_ceo(base: Directory) -> None:
    """Every manager exists in the directory and chains end at the one user without one."""
    by_name = base.user_by_name()
    roots = [u for u in base.users if u.manager_user_name is None]
    assert [r.title for r in roots] == ["Chief Executive Officer"]
    for user in base.users:
        seen = set()
        current = user
        while current.manager_user_name is not None:
            assert current.manager_user_name in by_name
            assert current.user_name not in seen
            seen.add(current.user_name)
            current = by_name[current.manager_user_name]
        assert current is roots[0]
    heads = [u for u in base.users if u.title and u.title.startswith("Head of ")]
    assert [h.department for h in heads] == list(DEPARTMENTS)


def test_groups_are_departments_then_projects(base: Directory) -> None:
    departments = list(DEPARTMENTS)
    assert [g.display_name for g in base.groups[:10]] == departments
    by_name = base.user_by_name()
    for group in base.groups[:10]:
        expected = [u.user_name for u in base.users if u.department == group.display_name]
        assert list(group.member_user_names) == expected
    projects = base.groups[10:]
    assert len({g.display_name.lower() for g in base.groups}) == 14
    assert all(g.external_id.startswith("00g") for g in base.groups)
    assert all(set(g.member_user_names) <= by_name.keys() for g in projects)
    assert sum(len(g.member_user_names) for g in projects) > 0


def test_few_groups_are_only_departments() -> None:
    small = generate_directory(1, 30, 3)
    assert [g.display_name for g in small.groups] == list(DEPARTMENTS)[:3]
    assert generate_directory(1, 0, 0).users == ()


def test_a_revision_changes_what_the_help_says(base: Directory, aged: Directory) -> None:
    """Revision 1 of 400 users (399 without the CEO): 2% leave, 1% suspended, 3% move,
    3% new title, 1% renamed, 2% join; one project group renamed; memberships change."""
    changes = compare(base, aged)
    assert len(changes.left) == round(399 * 0.02)
    assert len(changes.joined) == round(399 * 0.02)
    assert len(changes.deactivated) == round(399 * 0.01)
    assert not changes.reactivated
    renamed = {k for k, f in changes.changed.items() if "family_name" in f}
    assert len(renamed) == round(399 * 0.01)
    for key in renamed:
        assert {"user_name", "email", "display_name"} <= changes.changed[key]
    before = {u.external_id: u.user_name for u in base.users}
    assert {k: before[k] for k in renamed} == dict(aged.former_user_names)
    groups_before = {g.external_id: g.display_name for g in base.groups}
    assert dict(aged.former_group_names) == {k: groups_before[k] for k in changes.groups_renamed}
    moved = {k for k, f in changes.changed.items() if "department" in f}
    assert len(moved) == round(399 * 0.03)
    titled = {k for k, f in changes.changed.items() if f == {"title"}}
    assert len(titled) == round(399 * 0.03)
    assert len(changes.groups_renamed) == 1
    assert changes.members_added
    assert changes.members_removed
    assert {u.external_id for u in aged.departed} == changes.left
    assert all(not u.active for u in aged.departed)
    assert len(aged.users) == 400


def test_the_next_revision_reactivates_the_suspended(aged: Directory) -> None:
    later = generate_directory(7, 400, 14, "corp.example", 2)
    changes = compare(aged, later)
    suspended = {u.external_id for u in aged.users if not u.active}
    assert suspended
    assert suspended - changes.left <= changes.reactivated


def test_a_leavers_reports_move_to_the_leavers_manager(base: Directory, aged: Directory) -> None:
    """No one reports to someone who left; reports who did not move get the leaver's boss."""
    departed = {u.user_name for u in aged.departed}
    assert all(u.manager_user_name not in departed for u in aged.users)
    changes = compare(base, aged)
    after = {u.external_id: u for u in aged.users}
    inherited = 0
    for leaver in aged.departed:
        for user in base.users:
            if user.manager_user_name != leaver.user_name or user.external_id not in after:
                continue
            if "department" in changes.changed.get(user.external_id, ()):
                continue
            if leaver.manager_user_name in departed:
                continue
            assert after[user.external_id].manager_user_name == leaver.manager_user_name
            inherited += 1
    assert inherited > 0


def test_emails_never_collide_across_revisions() -> None:
    """A renamed user's new address, and a joiner's, is never one used before."""
    seen: dict[str, str] = {}
    for revision in range(4):
        directory = generate_directory(3, 300, 12, revision=revision)
        for user in (*directory.users, *directory.departed):
            assert seen.setdefault(user.user_name, user.external_id) == user.external_id


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="domain"):
        generate_directory(1, 10, 1, "not a domain")
    with pytest.raises(ValueError, match="0 or more"):
        generate_directory(1, -1, 1)


def test_revision_help_names_every_rate() -> None:
    """The --help text is the documentation of a cycle: it must quote the real rates."""
    from harness.idp import directory

    for rate in directory._RATES.values():
        assert f"{rate * 100:g}%" in REVISION_HELP
