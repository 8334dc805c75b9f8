"""The client of `gbvstats serve`: `submit --to URL`, `validate --to URL`, and the NSC's
`review` / `lock` / `unlock --to URL`.

The token comes from --token-file or GBVSTATS_TOKEN and travels only in the Authorization
header. Receipts are the warehouse's own (`Receipt`), so the command prints and exits
exactly as a local submit would. A busy server (503) is retried with growing pauses (its
Retry-After respected); every other refusal is a catalogued finding from the server, shown
in the user's language; an unreachable server or a connection lost before the receipt is
said so (GBV-A030, A035): a receipt given means stored, and sending again is safe.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gbvstats import __version__
from gbvstats.catalogue import Finding

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {".xlsx": XLSX, ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
         ".xls": "application/vnd.ms-excel", ".ods": "application/vnd.oasis.opendocument.spreadsheet"}


class ClientError(Exception):
    """What the user is told instead of a receipt: a finding (the server's own, or one of
    GBV-A030..A037) and the exit code."""

    def __init__(self, finding: Finding, exit_code: int = 2, status: int | None = None):
        super().__init__(finding.code)
        self.finding, self.exit_code, self.status = finding, exit_code, status

    def message(self, lang: str) -> str:
        return f"{self.finding.code}: {self.finding.message(lang)}"


def load_token(token_file: Path | None) -> str:
    """The token from --token-file, else GBVSTATS_TOKEN."""
    from gbvstats.store.warehouse import TOKEN

    if token_file is not None:
        try:
            text = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ClientError(Finding("GBV-A033", params={"path": str(token_file), "reason": reason})) from None
        if not TOKEN.match(text):
            raise ClientError(Finding("GBV-A033", params={
                "path": str(token_file), "reason": "no gbvstats token (gbv_...) in it"}))
        return text
    token = os.environ.get("GBVSTATS_TOKEN", "").strip()
    if not token:
        raise ClientError(Finding("GBV-A032"))
    return token


def loose_permissions(token_file: Path | None) -> bool:
    """Whether other users of this machine can read the token file."""
    try:
        return token_file is not None and bool(Path(token_file).stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


@dataclass
class Remote:
    """A session with one server: `Remote(url, token, lang)`; use as a context manager."""

    url: str
    token: str
    lang: str = "en"
    timeout: float = 300.0
    retries: int = 6  # tries after the first while the server answers 503
    first_pause: float = 1.0
    max_pause: float = 30.0
    on_retry: Any = None  # called with (file, pause seconds) before a retry
    _http: Any = field(default=None, init=False, repr=False)

    def __enter__(self) -> Remote:
        import httpx

        self.url = self.url.rstrip("/")
        if self.token and not safe_url(self.url):
            raise ClientError(Finding("GBV-A036", params={"url": self.url}))
        headers = {"Accept-Language": self.lang, "User-Agent": f"gbvstats/{__version__}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(self.timeout, connect=15.0),
                                  headers=headers, follow_redirects=False)
        return self

    def __exit__(self, *exc) -> None:
        self._http.close()

    # --- calls -------------------------------------------------------------------------

    def whoami(self) -> dict:
        return self._json("GET", "/api/v1/whoami")

    def health(self, wait: float = 0.0) -> dict:
        """The server's health answer; with `wait`, keep trying that long while it cannot
        be reached (a server starting up)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                return self._json("GET", "/api/v1/health")
            except ClientError as exc:
                if exc.finding.code != "GBV-A030" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.25)

    def submit(self, path: Path):
        """(Receipt, the server's JSON) for one file."""
        from gbvstats.store.warehouse import Receipt

        body = self._upload("/api/v1/submissions", path)
        fields = {k: body.get(k) for k in Receipt.__dataclass_fields__ if k in body}
        receipt = Receipt(**{**fields, "file": path.name})
        return receipt, body

    def validate(self, path: Path) -> dict:
        body = self._upload("/api/v1/validate", path)
        body["file"] = str(path)
        return body

    def download(self, link: str, out: Path) -> Path:
        response = self._send("GET", link)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.part")
        tmp.write_bytes(response.content)
        tmp.replace(out)
        return out

    def review(self, sid: int, decision: str, comment: str | None) -> dict:
        return self._json("POST", f"/api/v1/submissions/{sid}/review",
                          json={"decision": decision, "comment": comment})

    def lock(self, year: int, agency: str, form: str, comment: str | None) -> dict:
        return self._json("POST", "/api/v1/locks", json={"year": year, "agency": agency,
                                                          "form": form, "comment": comment})

    def unlock(self, year: int, agency: str, form: str, comment: str | None) -> dict:
        params = {"comment": comment} if comment else None
        return self._json("DELETE", f"/api/v1/locks/{year}/{agency}/{form}", params=params)

    # --- transport ---------------------------------------------------------------------

    def _json(self, method: str, path: str, **kw) -> dict:
        return self._parse(self._send(method, path, **kw), path)

    def _upload(self, path: str, file: Path) -> dict:
        """POST one file; the answer's JSON whatever the status (a receipt or a report),
        unless it is a refusal without a receipt (401, 403 of a role, 413, 429...)."""
        media = MEDIA.get(file.suffix.lower(), "application/octet-stream")
        response = self._send("POST", path, file=file, media=media)
        if response.status_code == 413 and not _json_error(response):  # a proxy's own page
            from gbvstats.serve import size_text

            raise ClientError(Finding("GBV-A037", params={
                "file": file.name, "size": size_text(file.stat().st_size), "url": self.url}), status=413)
        return self._parse(response, path, receipts=True)

    def _send(self, method: str, path: str, file: Path | None = None, media: str = "", **kw):
        import httpx

        started = time.monotonic()
        pause = self.first_pause
        for attempt in range(self.retries + 1):
            try:
                if file is not None:
                    with open(file, "rb") as fh:
                        response = self._http.request(method, path, params={"lang": self.lang},
                                                      files={"file": (file.name, fh, media)})
                else:
                    kw.setdefault("params", {})
                    kw["params"] = {**(kw["params"] or {}), "lang": self.lang}
                    response = self._http.request(method, path, **kw)
            except httpx.ConnectError as exc:
                raise ClientError(Finding("GBV-A030", params={"url": self.url, "reason": _reason(exc)})) from None
            except httpx.TimeoutException as exc:
                raise ClientError(Finding("GBV-A035", params={
                    "file": file.name if file else path, "url": self.url, "reason": _reason(exc)})) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                raise ClientError(Finding("GBV-A035", params={
                    "file": file.name if file else path, "url": self.url, "reason": _reason(exc)})) from None
            except OSError as exc:  # the local file vanished or is unreadable
                raise ClientError(Finding("GBV-F001", params={"path": str(file)})) from exc
            if response.status_code != 503 or attempt == self.retries:
                break
            wait = min(max(_retry_after(response), pause), self.max_pause)
            if self.on_retry:
                self.on_retry(file.name if file else path, wait)
            time.sleep(wait)
            pause = min(pause * 2, self.max_pause)
        if response.status_code == 503:
            raise ClientError(Finding("GBV-A034", params={
                "file": file.name if file else path, "attempts": self.retries + 1,
                "seconds": f"{time.monotonic() - started:.0f}"}), status=503)
        return response

    def _parse(self, response, path: str, receipts: bool = False) -> dict:
        """The JSON of a success, a receipt (stored or refused), or a ClientError."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ClientError(Finding("GBV-A031", params={
                "url": self.url + path, "status": response.status_code,
                "detail": (response.text or "")[:120].replace("\n", " ")}), status=response.status_code)
        if response.is_success or (receipts and "outcome" in body) or (receipts and "verdict" in body):
            return body
        error = body.get("error") if isinstance(body.get("error"), dict) else None
        if error and error.get("code"):
            try:
                finding = Finding(code=error["code"])
            except KeyError:  # a code this client does not know: keep the server's text
                finding = Finding("GBV-A031", params={"url": self.url + path,
                                                      "status": response.status_code,
                                                      "detail": error.get("message", "")})
            raise ServerRefusal(finding, error.get("message", ""), response.status_code)
        raise ClientError(Finding("GBV-A031", params={
            "url": self.url + path, "status": response.status_code,
            "detail": str(body)[:120]}), status=response.status_code)


class ServerRefusal(ClientError):
    """A refusal the server explained (its message is in the language asked for)."""

    def __init__(self, finding: Finding, text: str, status: int):
        # another agency's data, a lock, a decision refused: problems found (1); the
        # token, the role, the size, a bad parameter, the server: could not proceed (2)
        code = 1 if finding.code == "GBV-A004" or finding.code.startswith("GBV-W") else 2
        super().__init__(finding, code, status)
        self.text = text

    def message(self, lang: str) -> str:
        return f"{self.finding.code}: {self.text or self.finding.message(lang)}"


def safe_url(url: str) -> bool:
    """May a token be sent to `url`? https://, or plain http:// to this machine only
    (GBVSTATS_INSECURE_HTTP=1 allows any, for a closed test network)."""
    from urllib.parse import urlsplit

    from gbvstats.serve.auth import is_loopback

    parts = urlsplit(url)
    if parts.scheme == "https" or os.environ.get("GBVSTATS_INSECURE_HTTP") == "1":
        return True
    host = (parts.hostname or "").lower()
    return parts.scheme == "http" and (host == "localhost" or is_loopback(host))


def _json_error(response) -> bool:
    """Whether the answer is a gbvstats refusal (`{"error": {...}}`), not another server's page."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def _retry_after(response) -> float:
    try:
        return float(response.headers.get("retry-after", "0"))
    except ValueError:
        return 0.0


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]
