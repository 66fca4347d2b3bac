"""The IdP's view of the directory: a person and a group as the IdP holds them.

Field names are the contract with `harness.idp.directory` (faker directories) and with the
profile templates, which name them as `user.<field>` / `group.<field>` (camelCase accepted).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DirectoryGroup", "DirectoryUser"]


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A person assigned to the app in the IdP."""

    user_name: str
    given_name: str
    family_name: str
    email: str
    display_name: str
    external_id: str
    title: str | None = None
    department: str | None = None
    employee_number: str | None = None
    manager_user_name: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """A group pushed to the app; members named by userName."""

    display_name: str
    external_id: str
    member_user_names: tuple[str, ...] = ()
