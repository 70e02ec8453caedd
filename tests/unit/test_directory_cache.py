"""The directory's cached token grants, apps and user flags (domain/derived.py), and the REST resolver's
cached callers: always what a fresh read would give — after expiry, expire_tokens, refresh, direct
store writes, rollbacks and another connection's commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from callcard.app import DirectoryResolver
from callcard.clock import FakeClock, SequentialIds
from callcard.domain.directory import Directory
from callcard.errors import BitrixError
from callcard.settings import Settings
from callcard.store import SQLiteStore

T0 = 1_763_700_000.0


class Env:
    def __init__(self, tmp_path: Path, store: Any = None) -> None:
        self.settings = Settings.for_tests(tmp_path)
        self.path = tmp_path / "db.sqlite3"
        self.store = store or SQLiteStore(self.path)
        self.clock = FakeClock(T0)
        self.directory = Directory(self.store, self.clock, SequentialIds(), self.settings)
        self.directory.ensure_seeded()
        self.resolver = DirectoryResolver(self.directory)
        self.app = self.directory.apps.create_app("A", ["telephony", "user"])
        self.token = self.directory.tokens.issue_tokens(self.app.id, 2).access_token


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def code_of(fn: Any, *args: Any) -> str:
    with pytest.raises(BitrixError) as info:
        fn(*args)
    return info.value.code


def test_a_resolved_caller_is_reused_while_nothing_changes(env: Env) -> None:
    first = env.resolver.from_token(env.token)
    assert (first.user_id, first.app_id, first.is_admin) == (2, env.app.id, False)
    assert first.scopes == frozenset({"telephony", "user"}) and first.access_token == env.token
    assert env.resolver.from_token(env.token) is first
    assert env.directory.tokens.token_grant(env.token) is env.directory.tokens.token_grant(env.token)


def test_expiry_is_checked_on_every_call(env: Env) -> None:
    env.resolver.from_token(env.token)
    env.clock.advance(env.settings.access_token_ttl_s - 1)
    env.resolver.from_token(env.token)
    env.clock.advance(1)
    assert code_of(env.resolver.from_token, env.token) == "expired_token"


def test_expire_tokens_and_direct_writes_take_effect_at_once(env: Env) -> None:
    env.resolver.from_token(env.token)
    assert env.directory.tokens.expire_tokens(app_id=env.app.id) == 1
    assert code_of(env.resolver.from_token, env.token) == "expired_token"
    fresh = env.directory.tokens.issue_tokens(env.app.id, 2).access_token
    env.resolver.from_token(fresh)
    env.store.update("access_tokens", {"token": fresh}, {"expires_at": T0 - 5})
    assert code_of(env.resolver.from_token, fresh) == "expired_token"
    env.store.delete("access_tokens", {"token": fresh})
    assert code_of(env.resolver.from_token, fresh) == "invalid_token"


def test_refresh_keeps_the_old_access_token_and_serves_the_new_one(env: Env) -> None:
    pair = env.directory.tokens.issue_tokens(env.app.id, 1)
    assert env.resolver.from_token(pair.access_token).is_admin
    new = env.directory.tokens.refresh(env.app.client_id, env.app.client_secret, pair.refresh_token)
    assert env.resolver.from_token(pair.access_token).user_id == 1
    assert env.resolver.from_token(new.access_token).user_id == 1


def test_user_and_app_changes_reach_the_caller(env: Env) -> None:
    assert not env.resolver.from_token(env.token).is_admin
    env.store.update("users", {"id": 2}, {"is_admin": True})
    assert env.resolver.from_token(env.token).is_admin
    env.store.update("apps", {"id": env.app.id}, {"scopes": ["crm"]})
    assert env.resolver.from_token(env.token).scopes == frozenset({"crm"})
    assert env.directory.apps.get_app(env.app.id).scopes == ("crm",)
    env.store.delete("users", {"id": 2})
    assert code_of(env.resolver.from_token, env.token) == "invalid_token"


def test_a_deleted_app_is_invalid_but_expiry_is_reported_first(env: Env) -> None:
    env.resolver.from_token(env.token)
    env.store.delete("apps", {"id": env.app.id})
    assert env.directory.apps.get_app(env.app.id) is None
    assert code_of(env.resolver.from_token, env.token) == "invalid_token"
    env.clock.advance(env.settings.access_token_ttl_s + 1)
    assert code_of(env.resolver.from_token, env.token) == "expired_token"  # as resolve_access_token


def test_a_rolled_back_change_is_not_served(env: Env) -> None:
    with pytest.raises(RuntimeError), env.store.transaction():
        env.store.update("users", {"id": 2}, {"is_admin": True})
        assert env.resolver.from_token(env.token).is_admin  # seen inside the transaction
        raise RuntimeError("roll back")
    assert not env.resolver.from_token(env.token).is_admin


def test_another_connections_commit_is_seen(env: Env) -> None:
    assert env.directory.is_active_user(2)
    env.resolver.from_token(env.token)
    other = sqlite3.connect(env.path, isolation_level=None)
    other.execute("UPDATE users SET is_admin = 1, active = 0 WHERE id = 2")
    other.close()
    assert env.resolver.from_token(env.token).is_admin
    assert not env.directory.is_active_user(2)


def test_active_flags_follow_the_users_table(env: Env) -> None:
    assert env.directory.is_active_user(3) and not env.directory.is_active_user(99)
    env.directory.set_user_active(3, False)
    assert not env.directory.is_active_user(3)
    env.directory.add_user("New")
    assert env.directory.is_active_user(5)


def test_a_store_without_generations_is_simply_not_cached(tmp_path: Path) -> None:
    class Plain:
        """The Store protocol only: every call goes to the SQLite store underneath."""

        def __init__(self, inner: SQLiteStore) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            if name == "generation":
                raise AttributeError(name)
            return getattr(self._inner, name)

    env = Env(tmp_path, Plain(SQLiteStore(tmp_path / "plain.sqlite3")))
    first = env.directory.tokens.token_grant(env.token)
    assert env.directory.tokens.token_grant(env.token) is not first
    env.store.update("users", {"id": 2}, {"is_admin": True})
    assert env.resolver.from_token(env.token).is_admin
