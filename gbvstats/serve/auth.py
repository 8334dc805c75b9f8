"""Who is asking, and what they may do: tokens, roles, sessions, client addresses.

A request is authenticated by a token (API: `Authorization: Bearer gbv_...`; web page: a
session made by signing in with the token). The identity is the token's row, never a claim
made in the request. Roles: a submitter sends and reads its own agency's returns; a
reviewer (NSC) reads every agency's, accepts, returns, locks and unlocks; an admin may also
list the tokens. Failed attempts are counted per client address and refused for a while
after too many (HTTP 429). Tokens travel only over HTTPS, or on this machine's loopback,
unless the server was started with --insecure-http.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass, field

ROLE_ACTIONS = {
    "submitter": {"validate", "submit", "read_own"},
    "reviewer": {"validate", "read_all", "review", "lock", "completeness"},
    "admin": {"validate", "read_all", "review", "lock", "completeness", "tokens"},
}


@dataclass(frozen=True)
class Identity:
    token_id: int
    label: str
    agency: str
    role: str

    def may(self, action: str) -> bool:
        return action in ROLE_ACTIONS.get(self.role, set())

    def reads(self, agency: str | None) -> bool:
        """May this identity read data of `agency`?"""
        return self.may("read_all") or (agency is not None and agency.upper() == self.agency)

    def to_dict(self) -> dict:
        return {"token_id": self.token_id, "label": self.label, "agency": self.agency,
                "role": self.role}


class FailureLimiter:
    """Slows token guessing: after `limit` failed attempts from one address within `window`
    seconds, that address is refused for `block` seconds (doubling while it keeps failing)."""

    def __init__(self, limit: int = 10, window: float = 300.0, block: float = 60.0):
        self.limit, self.window, self.block = limit, window, block
        self._lock = threading.Lock()
        self._fails: dict[str, list[float]] = {}
        self._blocked: dict[str, tuple[float, float]] = {}  # address -> (until, last block)

    def retry_after(self, address: str) -> int:
        """Seconds this address must still wait, 0 when it may try."""
        with self._lock:
            until, _ = self._blocked.get(address, (0.0, 0.0))
            return max(0, int(until - time.monotonic() + 0.999))

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._fails.get(address, []) if now - t < self.window]
            recent.append(now)
            self._fails[address] = recent
            if len(recent) >= self.limit:
                _, last = self._blocked.get(address, (0.0, 0.0))
                length = min(last * 2, 3600.0) if last else self.block
                self._blocked[address] = (now + length, length)
                self._fails[address] = []
            if len(self._fails) > 10000:  # forget the oldest addresses rather than grow
                for key in list(self._fails)[:5000]:
                    self._fails.pop(key, None)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._fails.pop(address, None)
            self._blocked.pop(address, None)


@dataclass
class Session:
    identity: Identity
    csrf: str
    created: float
    seen: float
    data: dict = field(default_factory=dict)


class Sessions:
    """Web sessions in memory (a restart signs everyone out): an unguessable id in an
    HttpOnly, SameSite=Strict cookie, a CSRF token for the page's forms, an idle timeout."""

    COOKIE = "gbvstats_session"

    def __init__(self, idle: float = 1800.0, longest: float = 12 * 3600.0):
        self.idle, self.longest = idle, longest
        self._lock = threading.Lock()
        self._items: dict[str, Session] = {}

    def create(self, identity: Identity) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(identity, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._expire(now)
            self._items[sid] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._items.get(sid)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.created > self.longest:
                del self._items[sid]
                return None
            session.seen = now
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._items.pop(sid or "", None)

    def _expire(self, now: float) -> None:
        for sid in [s for s, v in self._items.items()
                    if now - v.seen > self.idle or now - v.created > self.longest]:
            del self._items[sid]


def same_secret(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def client_of(scope: dict, trusted_proxies: frozenset[str]) -> tuple[str, bool]:
    """(client address, secure): the peer itself, unless the peer is a trusted reverse proxy,
    whose X-Forwarded-For (last hop) and X-Forwarded-Proto are then believed."""
    peer = (scope.get("client") or ("", 0))[0] or ""
    secure = scope.get("scheme") in ("https", "wss")
    if peer in trusted_proxies:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        forwarded = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
        if forwarded:
            peer = forwarded[-1]
        proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        secure = secure or proto == "https"
    return peer, secure
