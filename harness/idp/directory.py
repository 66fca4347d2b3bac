"""A deterministic company directory for `scim-idp sync`: faker names, one org chart, groups.

`generate_directory(seed, users, groups, domain, revision)` always returns the same
directory for the same arguments (with the same Faker version), so two runs of a sync are
comparable and a failure can be reproduced. Revision N is the same company N sync cycles
later: `REVISION_HELP` says exactly what a cycle changes, and `compare` lists it.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from faker import Faker

from harness.idp.model import DirectoryGroup, DirectoryUser

__all__ = [
    "DEPARTMENTS",
    "REVISION_HELP",
    "Directory",
    "DirectoryChanges",
    "compare",
    "generate_directory",
]

DEPARTMENTS: Mapping[str, tuple[str, ...]] = {
    "Engineering": (
        "Software Engineer",
        "Senior Software Engineer",
        "Staff Engineer",
        "QA Engineer",
        "Site Reliability Engineer",
    ),
    "Sales": ("Account Executive", "Sales Development Representative", "Solutions Engineer"),
    "Customer Support": ("Support Engineer", "Support Specialist", "Customer Success Manager"),
    "Marketing": ("Marketing Specialist", "Content Strategist", "Growth Analyst"),
    "Product": ("Product Manager", "Senior Product Manager", "Product Analyst"),
    "Design": ("Product Designer", "UX Researcher", "Visual Designer"),
    "Operations": ("Operations Analyst", "IT Administrator", "Office Manager"),
    "Finance": ("Accountant", "Financial Analyst", "Controller"),
    "People": ("Recruiter", "People Partner", "HR Generalist"),
    "Legal": ("Counsel", "Paralegal", "Compliance Analyst"),
}
"""Departments (in group order) and their staff titles."""

_DEPARTMENT_WEIGHTS = (30, 15, 12, 8, 8, 5, 7, 6, 5, 4)
_EXECUTIVE = "Executive"
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MANAGER_SHARE = 8  # one staff member in 8 manages others
_RATES = {
    "leavers": 0.02,
    "suspended": 0.01,
    "movers": 0.03,
    "promotions": 0.03,
    "renames": 0.01,
    "team_changes": 0.04,
    "joiners": 0.02,
}

REVISION_HELP = """\
The directory: user 1 is the CEO; the next users head one department each
(Engineering, Sales, Customer Support, Marketing, Product, Design, Operations,
Finance, People, Legal); everyone else joins a department (weighted), one in 8 of
them as a manager, and reports to a manager or the head of that department. Names
come from Faker (en_US); userName and email are given.family@DOMAIN (a number is
added on a clash); externalId is an Okta-style 00u... id, the IdP's immutable key.
Groups: the first groups are the department groups (all members of the
department), the rest are project groups ("<colour> <word>") with random members.

Revision N is the same directory N sync cycles later. Each cycle, counted on the
users present at its start (CEO excluded, fractions rounded), in this order and on
disjoint sets of users:
  - users suspended in the previous cycle are active again (reactivate);
  - 2% leave: removed from the directory (the sync unassigns them per profile:
    deactivation, or DELETE where the IdP deletes); their reports move to the
    leaver's manager;
  - 1% are suspended: active=false, still in the directory (deactivate);
  - 3% move to another department: new title and manager there;
  - 3% get a new title in their department;
  - 1% change family name: new displayName, email and userName;
  - 4% change project groups: half join one, half leave one;
  - one project group is renamed (if there are project groups);
  - 2% join: new users with new employee numbers, managers and groups.
Everything is seeded from (seed, cycle): the same arguments, the same directory."""


@dataclass(frozen=True, slots=True)
class Directory:
    """The IdP's view: who is assigned now, the groups, and who left in earlier cycles."""

    seed: int
    revision: int
    domain: str
    users: tuple[DirectoryUser, ...]
    groups: tuple[DirectoryGroup, ...]
    departed: tuple[DirectoryUser, ...] = ()
    """Users removed in cycles 1..revision, in their last state with active=False."""
    former_group_names: tuple[tuple[str, str], ...] = ()
    """(externalId, earlier displayName) of groups renamed in cycles 1..revision, oldest
    first: how an IdP that sends no externalId still knows a renamed group."""
    former_user_names: tuple[tuple[str, str], ...] = ()
    """(externalId, earlier userName) of users renamed in cycles 1..revision, oldest first:
    an IdP links a person to its SCIM id once; a stateless sync finds them by these."""

    def user_by_name(self) -> dict[str, DirectoryUser]:
        return {u.user_name: u for u in self.users}


@dataclass(frozen=True, slots=True)
class DirectoryChanges:
    """What a sync from `old` to `new` must do, keyed by externalId (users and groups)."""

    joined: frozenset[str]
    left: frozenset[str]
    deactivated: frozenset[str]
    reactivated: frozenset[str]
    changed: Mapping[str, frozenset[str]]
    """User externalId -> changed DirectoryUser fields (manager compared by identity)."""
    groups_renamed: frozenset[str]
    members_added: Mapping[str, frozenset[str]]
    """Group externalId -> user externalIds (of users present in both revisions)."""
    members_removed: Mapping[str, frozenset[str]]


_COMPARED = (
    "user_name",
    "given_name",
    "family_name",
    "email",
    "display_name",
    "title",
    "department",
    "employee_number",
)


def compare(old: Directory, new: Directory) -> DirectoryChanges:
    """The differences an IdP sync acts on, from one revision to another."""
    old_users = {u.external_id: u for u in old.users}
    new_users = {u.external_id: u for u in new.users}
    old_key = {u.user_name: u.external_id for u in old.users}
    new_key = {u.user_name: u.external_id for u in new.users}
    changed: dict[str, frozenset[str]] = {}
    deactivated, reactivated = set(), set()
    for key in old_users.keys() & new_users.keys():
        a, b = old_users[key], new_users[key]
        fields = {name for name in _COMPARED if getattr(a, name) != getattr(b, name)}
        if old_key.get(a.manager_user_name or "") != new_key.get(b.manager_user_name or ""):
            fields.add("manager_user_name")
        if fields:
            changed[key] = frozenset(fields)
        if a.active and not b.active:
            deactivated.add(key)
        elif b.active and not a.active:
            reactivated.add(key)
    old_groups = {g.external_id: g for g in old.groups}
    stayed = old_users.keys() & new_users.keys()
    added: dict[str, frozenset[str]] = {}
    removed: dict[str, frozenset[str]] = {}
    renamed = set()
    for group in new.groups:
        before = old_groups.get(group.external_id)
        if before is None:
            continue
        if before.display_name != group.display_name:
            renamed.add(group.external_id)
        was = {old_key[n] for n in before.member_user_names} & stayed
        now = {new_key[n] for n in group.member_user_names} & stayed
        if now - was:
            added[group.external_id] = frozenset(now - was)
        if was - now:
            removed[group.external_id] = frozenset(was - now)
    return DirectoryChanges(
        joined=frozenset(new_users.keys() - old_users.keys()),
        left=frozenset(old_users.keys() - new_users.keys()),
        deactivated=frozenset(deactivated),
        reactivated=frozenset(reactivated),
        changed=changed,
        groups_renamed=frozenset(renamed),
        members_added=added,
        members_removed=removed,
    )


# -- generation ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Person:
    key: str  # externalId: stable for the person's whole life in the directory
    given: str
    family: str
    email: str
    title: str
    department: str
    employee_number: str
    level: int  # 0 CEO, 1 department head, 2 manager, 3 staff
    manager: str | None = None  # the manager's key
    active: bool = True
    teams: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Team:
    key: str
    name: str


class _Builder:
    """Mutable state of one directory while it is generated and aged cycle by cycle."""

    def __init__(self, seed: int, domain: str) -> None:
        self.seed = seed
        self.domain = domain.strip().lower()
        self.people: dict[str, _Person] = {}  # insertion order = directory order
        self.departed: dict[str, _Person] = {}
        self.departments: list[str] = []  # the departments that have a group
        self.department_keys: dict[str, str] = {}
        self.teams: list[_Team] = []
        self.used_locals: set[str] = set()
        self.used_keys: set[str] = set()
        self.used_group_names: set[str] = set()
        self.serial = 0
        self.suspended_last_cycle: set[str] = set()
        self.former_group_names: list[tuple[str, str]] = []
        self.former_user_names: list[tuple[str, str]] = []
        self._bosses: dict[str, list[_Person]] | None = None  # managers_of cache
        self.ceo: list[str] = []

    # identifiers

    def new_key(self, rng: random.Random, prefix: str) -> str:
        while True:
            number, chars = rng.getrandbits(102), []
            for _ in range(17):
                number, digit = divmod(number, 62)
                chars.append(_BASE62[digit])
            key = prefix + "".join(chars)
            if key not in self.used_keys:
                self.used_keys.add(key)
                return key

    def new_email(self, given: str, family: str) -> str:
        base = f"{_slug(given)}.{_slug(family)}".strip(".") or "user"
        local, n = base, 1
        while local in self.used_locals:
            n += 1
            local = f"{base}{n}"
        self.used_locals.add(local)
        return f"{local}@{self.domain}"

    def new_group_name(self, fake: Faker) -> str:
        base = f"{fake.color_name()} {fake.word().title()}"
        name, n = base, 1
        while name.lower() in self.used_group_names:
            n += 1
            name = f"{base} {n}"
        self.used_group_names.add(name.lower())
        return name

    def new_person(
        self,
        rng: random.Random,
        fake: Faker,
        *,
        title: str,
        department: str,
        level: int,
        manager: str | None,
    ) -> _Person:
        given, family = fake.first_name(), fake.last_name()
        self.serial += 1
        person = _Person(
            key=self.new_key(rng, "00u"),
            given=given,
            family=family,
            email=self.new_email(given, family),
            title=title,
            department=department,
            employee_number=str(100000 + self.serial),
            level=level,
            manager=manager,
        )
        self.people[person.key] = person
        if level in (1, 2) and self._bosses is not None:
            self._bosses.setdefault(department, []).append(person)
        return person

    # structure

    def managers_of(self, department: str) -> list[_Person]:
        """Who may manage staff in a department: its head and managers, else the CEO."""
        if self._bosses is None:
            self._bosses = {}
            for p in self.people.values():
                if p.level in (1, 2):
                    self._bosses.setdefault(p.department, []).append(p)
        found = self._bosses.get(department, [])
        return found or [self.people[k] for k in self.ceo if k in self.people]

    def staff(self, rng: random.Random, fake: Faker, department: str | None = None) -> _Person:
        names = list(DEPARTMENTS)
        dept = department or rng.choices(names, weights=_DEPARTMENT_WEIGHTS)[0]
        managers = self.managers_of(dept)
        is_manager = rng.randrange(_MANAGER_SHARE) == 0
        if is_manager:  # a manager reports to a head (or the CEO): levels only go down
            managers = [p for p in managers if p.level <= 1] or self.managers_of(_EXECUTIVE)
        boss = rng.choice(managers)
        person = self.new_person(
            rng,
            fake,
            title=f"{dept} Manager" if is_manager else rng.choice(DEPARTMENTS[dept]),
            department=dept,
            level=2 if is_manager else 3,
            manager=boss.key,
        )
        self.join_teams(rng, person)
        return person

    def join_teams(self, rng: random.Random, person: _Person) -> None:
        if not self.teams:
            return
        count = rng.choices((0, 1, 2), weights=(4, 4, 2))[0]
        for team in rng.sample(self.teams, min(count, len(self.teams))):
            person.teams.add(team.key)

    def generate(self, users: int, groups: int) -> None:
        rng = random.Random(f"scim-idp/{self.seed}/0")
        fake = _faker(self.seed)
        names = list(DEPARTMENTS)
        self.departments = names[: min(groups, len(names))]
        for dept in self.departments:
            self.department_keys[dept] = self.new_key(rng, "00g")
            self.used_group_names.add(dept.lower())
        for _ in range(max(0, groups - len(names))):
            self.teams.append(_Team(self.new_key(rng, "00g"), self.new_group_name(fake)))
        if users <= 0:
            return
        ceo = self.new_person(
            rng, fake, title="Chief Executive Officer", department=_EXECUTIVE, level=0, manager=None
        )
        self.ceo.append(ceo.key)
        for dept in names[: min(len(names), users - 1)]:
            head = self.new_person(
                rng, fake, title=f"Head of {dept}", department=dept, level=1, manager=ceo.key
            )
            self.join_teams(rng, head)
        while len(self.people) < users:
            self.staff(rng, fake)

    def age(self, cycle: int) -> None:
        """One sync cycle of changes, as REVISION_HELP lists them."""
        rng = random.Random(f"scim-idp/{self.seed}/{cycle}")
        fake = _faker(self.seed * 1_000_003 + cycle)
        for key in self.suspended_last_cycle:
            if key in self.people:
                self.people[key].active = True
        self.suspended_last_cycle = set()
        self._bosses = None
        pool = [p.key for p in self.people.values() if p.level > 0]
        n = len(pool)
        picks = rng.sample(pool, len(pool))  # a shuffled copy; sets below are disjoint slices

        def take(rate: str) -> list[str]:
            count = round(n * _RATES[rate])
            taken = picks[:count]
            del picks[:count]
            return taken

        reports: dict[str | None, list[_Person]] = {}
        for person in self.people.values():
            reports.setdefault(person.manager, []).append(person)
        for key in take("leavers"):
            leaver = self.people.pop(key)
            moved = [p for p in reports.pop(key, []) if p.key in self.people]
            for person in moved:
                person.manager = leaver.manager
            reports.setdefault(leaver.manager, []).extend(moved)
            leaver.active = False
            self.departed[key] = leaver
        self._bosses = None
        for key in take("suspended"):
            self.people[key].active = False
            self.suspended_last_cycle.add(key)
        for key in take("movers"):
            person = self.people[key]
            if self._bosses is not None and person in self._bosses.get(person.department, []):
                self._bosses[person.department].remove(person)
            dept = rng.choice([d for d in DEPARTMENTS if d != person.department])
            person.department = dept
            person.title = f"{dept} Manager" if person.level <= 2 else rng.choice(DEPARTMENTS[dept])
            person.level = min(max(person.level, 2), 3)
            bosses = [p for p in self.managers_of(dept) if p.key != key and p.level < person.level]
            if bosses:
                person.manager = rng.choice(bosses).key
            if self._bosses is not None and person.level == 2:
                self._bosses.setdefault(dept, []).append(person)
        for key in take("promotions"):
            person = self.people[key]
            choices = [t for t in DEPARTMENTS.get(person.department, ()) if t != person.title]
            person.title = rng.choice(choices) if choices else f"Senior {person.title}"
        for key in take("renames"):
            person = self.people[key]
            self.former_user_names.append((key, person.email))
            person.family = fake.last_name()
            person.email = self.new_email(person.given, person.family)
        for index, key in enumerate(take("team_changes")):
            person = self.people[key]
            if index % 2 == 0:
                options = [t for t in self.teams if t.key not in person.teams]
                if options:
                    person.teams.add(rng.choice(options).key)
            elif person.teams:
                person.teams.discard(rng.choice(sorted(person.teams)))
        if self.teams:
            team = rng.choice(self.teams)
            self.former_group_names.append((team.key, team.name))
            team.name = self.new_group_name(fake)
        for _ in range(round(n * _RATES["joiners"])):
            self.staff(rng, fake)

    # output

    def build(self, seed: int, revision: int) -> Directory:
        names = {p.key: p.email for p in self.people.values()}
        users = tuple(_user(p, names) for p in self.people.values())
        members: dict[str, list[str]] = {}
        for p in self.people.values():
            if p.department in self.department_keys:
                members.setdefault(self.department_keys[p.department], []).append(p.email)
            for team in p.teams:
                members.setdefault(team, []).append(p.email)
        groups = [
            DirectoryGroup(
                display_name=dept,
                external_id=self.department_keys[dept],
                member_user_names=tuple(members.get(self.department_keys[dept], ())),
            )
            for dept in self.departments
        ]
        groups += [
            DirectoryGroup(
                display_name=team.name,
                external_id=team.key,
                member_user_names=tuple(members.get(team.key, ())),
            )
            for team in self.teams
        ]
        departed_names = {**{p.key: p.email for p in self.departed.values()}, **names}
        departed = tuple(_user(p, departed_names) for p in self.departed.values())
        return Directory(
            seed,
            revision,
            self.domain,
            users,
            tuple(groups),
            departed,
            tuple(self.former_group_names),
            tuple(self.former_user_names),
        )


def _user(person: _Person, names: Mapping[str, str]) -> DirectoryUser:
    return DirectoryUser(
        user_name=person.email,
        given_name=person.given,
        family_name=person.family,
        email=person.email,
        display_name=f"{person.given} {person.family}",
        external_id=person.key,
        title=person.title,
        department=person.department,
        employee_number=person.employee_number,
        manager_user_name=names.get(person.manager) if person.manager else None,
        active=person.active,
    )


def _faker(seed: int) -> Faker:
    # use_weighting=False: uniform draws, 15x faster than Faker's weighted name lists.
    fake = Faker("en_US", use_weighting=False)
    fake.seed_instance(seed)
    return fake


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def generate_directory(
    seed: int, users: int, groups: int, domain: str = "example.com", revision: int = 0
) -> Directory:
    """The directory for `seed` with `users` people and `groups` groups, `revision` cycles on."""
    if users < 0 or groups < 0 or revision < 0:
        raise ValueError("users, groups and revision must be 0 or more")
    if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain.strip()):
        raise ValueError(f"not a domain name: {domain!r}")
    builder = _Builder(seed, domain)
    builder.generate(users, groups)
    for cycle in range(1, revision + 1):
        builder.age(cycle)
    return builder.build(seed, revision)
