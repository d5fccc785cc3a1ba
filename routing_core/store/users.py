"""Users, roles and API tokens."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from routing_core.model.users import ApiToken, Role, User
from routing_core.store.repository import Repository


class UserRepository(Repository[User]):
    collection_name = "users"
    record = User
    label = "user"
    INDEXES = [IndexModel([("email", ASCENDING)], unique=True, name="unique_email")]


class RoleRepository(Repository[Role]):
    collection_name = "roles"
    record = Role
    label = "role"
    INDEXES = [IndexModel([("name", ASCENDING)], unique=True, name="unique_name")]


class ApiTokenRepository(Repository[ApiToken]):
    collection_name = "api_tokens"
    record = ApiToken
    label = "token"
    INDEXES = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry")]
