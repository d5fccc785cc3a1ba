"""Users, roles, passwords and API tokens: who may do what.

Passwords are argon2 hashes; bearer tokens are random and only their SHA-256 is stored,
so a database dump reveals neither.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from routing_core.accounts.password_policy import check_password
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated, Words
from routing_core.infra.revisions import changed_meanwhile, revision_filter
from routing_core.model.audit import SYSTEM, Actor
from routing_core.model.users import (
    ALL_PERMISSIONS,
    BUILTIN_ROLES,
    AgentProfile,
    ApiToken,
    Role,
    User,
)
from routing_core.store import Store


def hash_password(hasher: PasswordHasher, password: str, email: str | None = None) -> str:
    """The argon2 hash of a password the policy accepts (run off the event loop: both
    the policy and argon2 take milliseconds of CPU)."""
    check_password(password, email=email)
    return hasher.hash(password)


def password_matches(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise Invalid(Words("%(email)r is not an e-mail address", email=email), field="email")
    return email


def known_timezone(name: str | None) -> str | None:
    """A user's time zone: an IANA name, or None for the service's."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(Words("unknown time zone %(name)r: use a name like Europe/Paris", name=name),
                      field="timezone") from None
    return name


def role_name(name: str) -> str:
    """A role's name: what users' role lists hold, so never blank."""
    name = (name or "").strip()
    if not name:
        raise Invalid("a role needs a name", field="name")
    if len(name) > 100:
        raise Invalid("at most 100 characters", field="name")
    return name


def check_permissions(permissions: list[str]) -> list[str]:
    unknown = sorted(set(permissions) - set(ALL_PERMISSIONS))
    if unknown:
        raise Invalid(Words("unknown permission(s): %(unknown)s", unknown=', '.join(unknown)),
                      field="permissions")
    return sorted(set(permissions))


class Accounts:
    """Creates users and roles, checks passwords, issues and resolves tokens."""

    def __init__(
        self,
        store: Store,
        token_ttl_seconds: int,
        clock: Callable[[], datetime] = utcnow,
        hasher: PasswordHasher | None = None,
    ):
        self.store = store
        self.token_ttl = timedelta(seconds=token_ttl_seconds)
        self.clock = clock
        self.hasher = hasher or PasswordHasher()  # argon2id with the library's defaults
        self._decoy: str | None = None

    async def ensure_builtin_roles(self) -> None:
        """``admin`` (every permission) and ``agent`` exist and grant what this code knows."""
        now = self.clock()
        for name, permissions in BUILTIN_ROLES.items():
            await self.store.roles.collection.update_one(
                {"_id": f"role_{name}"},
                {
                    "$set": {"name": name, "permissions": permissions, "builtin": True},
                    "$setOnInsert": {"created_at": now, "updated_at": now},
                },
                upsert=True,
            )

    async def ensure_first_admin(self, email: str | None, password: str | None) -> User | None:
        """The first admin comes from the settings, only while no user exists."""
        if not email or not password:
            return None
        if await self.store.users.collection.find_one({}, projection={"_id": 1}):
            return None
        try:
            return await self.create_user(None, email=email, password=password, roles=["admin"])
        except Conflict:  # another process created it meanwhile
            return None

    async def _check_roles(self, roles: list[str]) -> list[str]:
        known = {role.name for role in await self.store.roles.all()}
        unknown = sorted(set(roles) - known)
        if unknown:
            raise Invalid(Words("unknown role(s): %(unknown)s", unknown=', '.join(unknown)),
                          field="roles")
        return roles

    # -- no escalation: one gives only what one holds --------------------------------------

    async def _held_by(self, actor: Actor | None) -> frozenset[str]:
        """What the actor may give: the permissions of the actor's own roles, read now (not
        from a stale session); everything for an actor that is no user — the system, the
        command line of whoever runs the service — since requests always act as a user."""
        if actor is None or actor.id == SYSTEM.id:
            return frozenset(ALL_PERMISSIONS)
        user = await self.store.users.find(actor.id)
        if user is None:
            return frozenset(ALL_PERMISSIONS)
        return await self.permissions_of(user) if user.active else frozenset()

    async def _may_grant_roles(self, actor: Actor | None, roles: list[str]) -> None:
        held = await self._held_by(actor)
        for role in await self.store.roles.all({"name": {"$in": roles}}):
            missing = sorted(set(role.permissions) - held)
            if missing:
                raise Forbidden(
                    Words(
                        "you cannot give the role %(name)r: it grants permissions you do not "
                        "hold (%(missing)s%(value)s)",
                        name=role.name, missing=', '.join(missing[:5]),
                        value='…' if len(missing) > 5 else ''),
                    field="roles", code="escalation")

    async def _may_grant_permissions(self, actor: Actor, permissions: list[str]) -> None:
        missing = sorted(set(permissions) - await self._held_by(actor))
        if missing:
            raise Forbidden(
                Words(
                    "you cannot give permissions you do not hold: %(missing)s%(value)s",
                    missing=", ".join(missing[:5]), value="…" if len(missing) > 5 else ""),
                field="permissions", code="escalation")

    async def _is_admin(self, user: User) -> bool:
        return await self.permissions_of(user) >= frozenset(ALL_PERMISSIONS)

    async def _keeps_an_admin(self, leaving: str) -> None:
        """Refuse when ``leaving`` is the last active user holding every permission."""
        for user in await self.store.users.all({"active": True, "_id": {"$ne": leaving}}):
            if await self._is_admin(user):
                return
        raise Conflict("this is the last administrator: give another user the admin role "
                       "first", code="last_admin")

    async def create_user(
        self,
        actor: Actor | None,
        *,
        email: str,
        password: str,
        roles: list[str],
        agent: AgentProfile | None = None,
        timezone: str | None = None,
    ) -> User:
        await self._may_grant_roles(actor, await self._check_roles(roles))
        user = User(
            email=normalise_email(email),
            password_hash=await asyncio.to_thread(hash_password, self.hasher, password, email),
            roles=roles,
            agent=agent,
            timezone=known_timezone(timezone),
        )
        try:
            await self.store.users.insert(user)
        except DuplicateKeyError:
            raise Conflict(Words("a user with e-mail %(email)r exists", email=user.email),
                           field="email") from None
        if actor is not None:
            await self.store.audit.record_change(actor, "user.create", "user", user.id)
        return user

    async def update_user(self, actor: Actor, user_id: str, changes: dict[str, Any]) -> User:
        expected = revision_filter(changes.pop("revision", None))
        await self._may_change_user(actor, user_id, changes)
        updates: dict[str, Any] = {}
        if "email" in changes:
            updates["email"] = normalise_email(changes["email"])
        if "password" in changes:
            owner = await self.store.users.find(user_id)
            email = changes.get("email") or (owner.email if owner else None)
            updates["password_hash"] = await asyncio.to_thread(
                hash_password, self.hasher, changes["password"], email)
        if "roles" in changes:
            updates["roles"] = await self._check_roles(changes["roles"])
        if "agent" in changes:
            updates["agent"] = changes["agent"]
        if "active" in changes:
            updates["active"] = changes["active"]
        if "timezone" in changes:
            updates["timezone"] = known_timezone(changes["timezone"])
        updates["updated_at"] = self.clock()
        try:
            document = await self.store.users.collection.find_one_and_update(
                {"_id": user_id, **expected}, {"$set": updates, "$inc": {"revision": 1}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Conflict("another user has that e-mail", field="email") from None
        if document is None:
            if await self.store.users.find(user_id) is None:
                raise NotFound(Words("no user with id %(user_id)r", user_id=user_id))
            raise changed_meanwhile("the user")
        if "password" in changes or changes.get("active") is False:
            await self.store.tokens.collection.delete_many({"user_id": user_id})
        await self.store.audit.record_change(
            actor, "user.update", "user", user_id, fields=sorted(changes)
        )
        return User.from_document(document)

    async def _may_change_user(self, actor: Actor, user_id: str, changes: dict[str, Any]) -> None:
        """Only an admin changes an admin's e-mail or password (else: take over the
        account); roles given must be within the actor's own; an admin is never the last
        one to go."""
        target = await self.store.users.find(user_id)
        if target is None:
            raise NotFound(Words("no user with id %(user_id)r", user_id=user_id))
        target_is_admin = await self._is_admin(target)
        credentials_of_an_admin = (target_is_admin and actor.id != user_id
                                   and bool({"email", "password"} & set(changes)))
        if credentials_of_an_admin and await self._held_by(actor) < frozenset(ALL_PERMISSIONS):
            raise Forbidden("only an administrator can change an administrator's e-mail or "
                            "password", code="admin_only")
        if "roles" in changes:
            await self._may_grant_roles(actor, await self._check_roles(changes["roles"]))
        if target_is_admin and target.active:
            losing = changes.get("active") is False
            if "roles" in changes:
                roles = await self.store.roles.all({"name": {"$in": changes["roles"]}})
                granted = {permission for role in roles for permission in role.permissions}
                losing = losing or not granted >= set(ALL_PERMISSIONS)
            if losing:
                await self._keeps_an_admin(user_id)

    async def delete_user(self, actor: Actor, user_id: str) -> None:
        if actor.id == user_id:
            raise Conflict("you cannot delete your own account", code="self_delete")
        target = await self.store.users.find(user_id)
        if target is not None and target.active and await self._is_admin(target):
            await self._keeps_an_admin(user_id)
        if not await self.store.users.delete(user_id):
            raise NotFound(Words("no user with id %(user_id)r", user_id=user_id))
        await self.store.tokens.collection.delete_many({"user_id": user_id})
        await self.store.audit.record_change(actor, "user.delete", "user", user_id)

    async def create_role(self, actor: Actor, name: str, permissions: list[str]) -> Role:
        name = role_name(name)
        role = Role(name=name, permissions=check_permissions(permissions))
        await self._may_grant_permissions(actor, role.permissions)
        try:
            await self.store.roles.insert(role)
        except DuplicateKeyError:
            raise Conflict(Words("a role named %(name)r exists", name=name), field="name") from None
        await self.store.audit.record_change(actor, "role.create", "role", role.id)
        return role

    async def update_role(self, actor: Actor, role_id: str, changes: dict[str, Any]) -> Role:
        expected = revision_filter(changes.pop("revision", None))
        role = await self.store.roles.get(role_id)
        if role.builtin:
            raise Conflict(Words("the built-in role %(name)r cannot be changed", name=role.name),
                           code="builtin")
        if "name" in changes:
            changes["name"] = role_name(changes["name"])
        if "permissions" in changes:
            changes["permissions"] = check_permissions(changes["permissions"])
            await self._may_grant_permissions(actor, changes["permissions"])
        if "name" in changes and changes["name"] != role.name:
            await self.store.users.collection.update_many(
                {"roles": role.name}, {"$set": {"roles.$": changes["name"]}}
            )
        try:
            document = await self.store.roles.collection.find_one_and_update(
                {"_id": role_id, **expected},
                {"$set": {**changes, "updated_at": self.clock()}, "$inc": {"revision": 1}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Conflict("another role has that name", field="name") from None
        if document is None:
            raise changed_meanwhile(f"role {role.name!r}")
        await self.store.audit.record_change(actor, "role.update", "role", role_id, changes=changes)
        return Role.from_document(document)

    async def delete_role(self, actor: Actor, role_id: str) -> None:
        role = await self.store.roles.get(role_id)
        if role.builtin:
            raise Conflict(Words("the built-in role %(name)r cannot be deleted", name=role.name),
                           code="builtin")
        if await self.store.users.find_one({"roles": role.name}):
            raise Conflict(Words("role %(name)r is still given to users", name=role.name),
                           code="in_use")
        await self.store.roles.delete(role_id)
        await self.store.audit.record_change(actor, "role.delete", "role", role_id)

    async def authenticate(self, email: str, password: str) -> User:
        """The user, or Unauthenticated. A hash is checked whether the e-mail exists or
        not (same time for both: answers do not tell which e-mails exist), in a thread
        (argon2 takes tens of milliseconds that the event loop must not wait for)."""
        user = await self.store.users.find_one({"email": email.strip().lower()})
        stored = user.password_hash if user is not None else await self._decoy_hash()
        matches = await asyncio.to_thread(password_matches, self.hasher, stored, password)
        if user is None or not user.active or not matches:
            raise Unauthenticated("wrong e-mail or password", code="bad_credentials")
        return user

    async def _decoy_hash(self) -> str:
        """A hash of a random password, made once per process with the same parameters."""
        if self._decoy is None:
            self._decoy = await asyncio.to_thread(self.hasher.hash, secrets.token_urlsafe(16))
        return self._decoy

    async def issue_token(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        await self.store.tokens.insert(
            ApiToken(id=token_key(token), user_id=user.id, expires_at=self.clock() + self.token_ttl)
        )
        return token

    async def revoke_token(self, token: str) -> None:
        await self.store.tokens.delete(token_key(token))

    async def user_for_token(self, token: str) -> User:
        record = await self.store.tokens.find(token_key(token))
        if record is None or record.expires_at <= self.clock():
            raise Unauthenticated("the token is unknown or expired; log in again")
        user = await self.store.users.find(record.user_id)
        if user is None or not user.active:
            raise Unauthenticated("the account is disabled")
        return user

    async def permissions_of(self, user: User) -> frozenset[str]:
        roles = await self.store.roles.all({"name": {"$in": user.roles}})
        return frozenset(permission for role in roles for permission in role.permissions)
