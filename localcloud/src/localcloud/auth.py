"""A local stand-in for Firebase Auth: the Identity Toolkit calls firebase-admin's user
management makes, and ID tokens a local app can sign in with.

firebase-admin's user management reaches it at
``http://HOST/identitytoolkit.googleapis.com/v1/projects/{project}/accounts...``:
create (``accounts``), look up by uid or e-mail (``accounts:lookup``), update, custom
claims included (``accounts:update``), delete, and e-mail action links
(``accounts:sendOobCode``, returned rather than mailed). Errors are Identity Toolkit's
(``{"error": {"message": "EMAIL_EXISTS"}}``), so firebase-admin raises its own exceptions.

The calls a browser makes with the web API key are served too, at
``/identitytoolkit.googleapis.com/v1/accounts:X?key=<project id>`` (the stand-in takes
the project id as the API key): anyone signs up with an e-mail and password
(``signUp``, the address unverified), signs in (``signInWithPassword``), sets a new
password with a reset link's code (``resetPassword``, which, like a password change,
makes earlier tokens invalid: ``validSince``) and proves the address with a
verification link's code (``update`` with ``oobCode``: ``emailVerified``).

Unlike Firebase's emulator, tokens are *signed*: ``POST /emulator/v1/projects/{project}/
accounts/{uid}:idToken`` returns an RS256 ID token carrying the account's claims, and
``GET /certs`` publishes the certificate, so functions verify tokens exactly as in
production (pointed at ``cert_url`` instead of Google's). Accounts are kept per project,
in memory, and in ``accounts.json`` under ``data_dir`` when one is given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localcloud.auth_tokens import TOKEN_SECONDS, Signer
from localcloud.binding import http_server

Account = dict[str, Any]
_TOOLKIT = re.compile(
    r"^/identitytoolkit\.googleapis\.com/v1/projects/([^/]+)/(accounts(?::\w+)?)$"
)
_MINT = re.compile(r"^/emulator/v1/projects/([^/]+)/accounts/([^/:]+):idToken$")
_CLIENT = re.compile(r"^/identitytoolkit\.googleapis\.com/v1/(accounts:\w+)$")
MAX_CLAIMS_CHARS = 1000  # Firebase's limit on serialised custom claims


class AuthError(Exception):
    """An Identity Toolkit error code, answered as HTTP 400."""


class Accounts:
    """Every project's accounts, keyed by uid; thread-safe, optionally on disk."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.file = data_dir / "accounts.json" if data_dir else None
        self.projects: dict[str, dict[str, Account]] = {}
        # Action links' codes: code -> (project, e-mail, requestType); used once.
        self.codes: dict[str, tuple[str, str, str]] = {}
        if self.file and self.file.exists():
            self.projects = json.loads(self.file.read_text())

    def _save(self) -> None:
        if self.file:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.projects))
            tmp.replace(self.file)

    def _by_email(self, project: str, email: str) -> Account | None:
        email = email.lower()
        return next(
            (a for a in self.projects.get(project, {}).values() if a.get("email") == email), None
        )

    def create(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            accounts = self.projects.setdefault(project, {})
            uid = body.get("localId") or secrets.token_urlsafe(21)[:28]
            if uid in accounts:
                raise AuthError("DUPLICATE_LOCAL_ID")
            if body.get("email") and self._by_email(project, body["email"]):
                raise AuthError("EMAIL_EXISTS")
            account: Account = {"localId": uid, "createdAt": str(int(time.time() * 1000))}
            _apply(account, body)  # first: a refused body (a weak password) adds nothing
            accounts[uid] = account
            self._save()
            return {"kind": "identitytoolkit#SignupNewUserResponse", "localId": uid}

    def lookup(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            accounts = self.projects.get(project, {})
            found = [accounts[u] for u in body.get("localId", []) if u in accounts]
            found += [a for e in body.get("email", []) if (a := self._by_email(project, e))]
            users = list({a["localId"]: a for a in found}.values())
            return {"kind": "identitytoolkit#GetAccountInfoResponse"} | (
                {"users": users} if users else {}
            )

    def update(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            account = self.projects.get(project, {}).get(body.get("localId", ""))
            if account is None:
                raise AuthError("USER_NOT_FOUND")
            email = body.get("email")
            other = self._by_email(project, email) if email else None
            if other is not None and other is not account:
                raise AuthError("EMAIL_EXISTS")
            _apply(account, body)
            self._save()
            return {"kind": "identitytoolkit#SetAccountInfoResponse", "localId": account["localId"]}

    def delete(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.projects.get(project, {}).pop(body.get("localId", ""), None) is None:
                raise AuthError("USER_NOT_FOUND")
            self._save()
            return {"kind": "identitytoolkit#DeleteAccountResponse"}

    def check_password(self, project: str, email: str, password: str) -> Account:
        """The account that ``email`` and ``password`` sign in to."""
        with self.lock:
            account = self._by_email(project, email)
            if account is None or not _password_matches(account, password):
                raise AuthError("INVALID_LOGIN_CREDENTIALS")
            return dict(account)

    def use_code(self, code: str, request_type: str) -> tuple[str, Account]:
        """The project and account of an action link's code of this type, consumed."""
        with self.lock:
            found = self.codes.get(code)
            if found is None or found[2] != request_type:
                raise AuthError("INVALID_OOB_CODE")
            del self.codes[code]
            account = self._by_email(found[0], found[1])
            if account is None:
                raise AuthError("USER_NOT_FOUND")
            return found[0], account

    def signed_in(self, project: str, uid: str) -> Account:
        with self.lock:
            account = self.projects.get(project, {}).get(uid)
            if account is None:
                raise AuthError("USER_NOT_FOUND")
            if account.get("disabled"):
                raise AuthError("USER_DISABLED")
            account["lastLoginAt"] = str(int(time.time() * 1000))
            self._save()
            return dict(account)


_FIELDS = {
    "email": "email",
    "displayName": "displayName",
    "photoUrl": "photoUrl",
    "emailVerified": "emailVerified",
    "disabled": "disabled",
    "disableUser": "disabled",
    "phoneNumber": "phoneNumber",
    "validSince": "validSince",
}
_DELETABLE = {"DISPLAY_NAME": "displayName", "PHOTO_URL": "photoUrl"}


def _apply(account: Account, body: dict[str, Any]) -> None:
    """Set what an ``accounts`` or ``accounts:update`` body carries."""
    for key, field in _FIELDS.items():
        if key in body:
            account[field] = body[key].lower() if key == "email" else body[key]
    if "password" in body:
        _set_password(account, str(body["password"]))
    for name in body.get("deleteAttribute", []):
        account.pop(_DELETABLE.get(name, ""), None)
    if "phone" in body.get("deleteProvider", []):
        account.pop("phoneNumber", None)
    if "customAttributes" in body:
        account["customAttributes"] = _claims(body["customAttributes"])


def _digest(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 1000).hex()


def _set_password(account: Account, password: str) -> None:
    """Keep a salted hash, never the password; a new password makes the tokens issued so
    far invalid, as Firebase does on a password change (``validSince``, in seconds)."""
    if len(password) < 6:
        raise AuthError("WEAK_PASSWORD : Password should be at least 6 characters")
    account["salt"] = secrets.token_hex(8)
    account["passwordHash"] = _digest(password, account["salt"])
    account["validSince"] = str(int(time.time()))


def _password_matches(account: Account, password: str) -> bool:
    if "salt" not in account:
        return False
    return hmac.compare_digest(account["passwordHash"], _digest(password, account["salt"]))


def _claims(raw: str) -> str:
    try:
        parsed = json.loads(raw or "{}")
    except ValueError as err:
        raise AuthError("INVALID_CLAIMS") from err
    if not isinstance(parsed, dict):
        raise AuthError("INVALID_CLAIMS")
    if len(raw) > MAX_CLAIMS_CHARS:
        raise AuthError("CLAIMS_TOO_LARGE")
    return json.dumps(parsed)


class AuthServer:
    """The stand-in on ``address``; ``cert_url`` is what functions verify tokens with."""

    def __init__(self, host: str, port: int, data_dir: Path | None) -> None:
        self.accounts = Accounts(data_dir)
        self.signer = Signer()
        self._server: ThreadingHTTPServer = http_server(host, port, _handler(self), "Firebase Auth")
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.address = f"{host}:{self._server.server_address[1]}"
        self.cert_url = f"http://{self.address}/certs"

    def id_token(self, project: str, uid: str) -> str:
        return self.signer.token(project, self.accounts.signed_in(project, uid))

    def token_url(self, project: str, uid: str) -> str:
        """Where a POST answers with an ID token for ``uid`` (``curl -X POST <url>``)."""
        return f"http://{self.address}/emulator/v1/projects/{project}/accounts/{uid}:idToken"

    def route(self, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        parts = urlsplit(url)
        if (mint := _MINT.match(parts.path)) and method == "POST":
            return {"idToken": self.id_token(mint[1], mint[2]), "expiresIn": str(TOKEN_SECONDS)}
        if (client := _CLIENT.match(parts.path)) and method == "POST":
            key = parse_qs(parts.query).get("key", [""])[0]
            if not key:
                raise AuthError("API key not valid. Please pass a valid API key.")
            return self._client_call(client[1], key, body)
        match = _TOOLKIT.match(parts.path)
        if match is None:
            raise LookupError(parts.path)
        project, call = match[1], match[2]
        handlers = {
            ("POST", "accounts"): self.accounts.create,
            ("POST", "accounts:lookup"): self.accounts.lookup,
            ("POST", "accounts:update"): self.accounts.update,
            ("POST", "accounts:delete"): self.accounts.delete,
            ("POST", "accounts:sendOobCode"): self._action_link,
        }
        if (method, call) not in handlers:
            raise LookupError(parts.path)
        return handlers[(method, call)](project, body)

    def _action_link(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        """An e-mail action link (firebase-admin's ``generate_*_link``), returned, not sent;
        its code works once, for its purpose, through the browser calls below."""
        email = str(body.get("email", "")).lower()
        if "users" not in self.accounts.lookup(project, {"email": [email]}):
            raise AuthError("EMAIL_NOT_FOUND")
        request_type = str(body.get("requestType") or "PASSWORD_RESET")
        mode = {"VERIFY_EMAIL": "verifyEmail", "EMAIL_SIGNIN": "signIn"}
        code = secrets.token_urlsafe(16)
        with self.accounts.lock:
            self.accounts.codes[code] = (project, email, request_type)
        query = f"mode={mode.get(request_type, 'resetPassword')}&oobCode={code}"
        link = f"http://{self.address}/emulator/action?{query}&apiKey={project}"
        return {"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "oobLink": link}

    def _client_call(self, call: str, project: str, body: dict[str, Any]) -> dict[str, Any]:
        """What a browser asks with the web API key (here: the project id)."""
        if call == "accounts:signUp":
            made = self.accounts.create(project, _sign_up_fields(body))
            return self._session(project, made["localId"])
        if call == "accounts:signInWithPassword":
            email, password = str(body.get("email", "")), str(body.get("password", ""))
            account = self.accounts.check_password(project, email, password)
            return self._session(project, account["localId"])
        if call == "accounts:resetPassword" and "newPassword" in body:
            owner, account = self.accounts.use_code(str(body.get("oobCode")), "PASSWORD_RESET")
            self.accounts.update(
                owner, {"localId": account["localId"], "password": body["newPassword"]}
            )
            return {"email": account["email"], "requestType": "PASSWORD_RESET"}
        if call == "accounts:update" and "oobCode" in body:
            owner, account = self.accounts.use_code(str(body["oobCode"]), "VERIFY_EMAIL")
            self.accounts.update(owner, {"localId": account["localId"], "emailVerified": True})
            return {"localId": account["localId"], "email": account["email"], "emailVerified": True}
        raise LookupError(call)

    def _session(self, project: str, uid: str) -> dict[str, Any]:
        token = self.id_token(project, uid)
        return {"localId": uid, "idToken": token, "expiresIn": str(TOKEN_SECONDS)}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _sign_up_fields(body: dict[str, Any]) -> dict[str, Any]:
    """A public sign-up: an e-mail and a password, the address not verified."""
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or "@" not in email:
        raise AuthError("INVALID_EMAIL")
    if not isinstance(password, str):
        raise AuthError("MISSING_PASSWORD")
    return {"email": email, "password": password, "emailVerified": False}


def _handler(server: AuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, method: str) -> None:
            if method == "GET" and urlsplit(self.path).path == "/certs":
                return self._answer(200, server.signer.certs)
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                result, status = server.route(method, self.path, body), 200
            except AuthError as err:
                result, status = {"error": {"code": 400, "message": str(err)}}, 400
            except LookupError:
                result, status = {"error": {"code": 404, "message": "NOT_FOUND"}}, 404
            except ValueError:
                result, status = {"error": {"code": 400, "message": "INVALID_JSON"}}, 400
            return self._answer(status, json.dumps(result).encode())

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self._serve("POST")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def start_auth(host: str = "127.0.0.1", port: int = 0, data_dir: Path | None = None) -> AuthServer:
    """Serve the stand-in (``port`` 0: any free port; one in use: ``PortInUse``);
    ``stop()`` ends it."""
    return AuthServer(host, port, data_dir)
