"""A real Dovecot IMAP server for tests: its own config, users and maildirs in a temporary
directory, plain IMAP and IMAPS (a self-signed certificate) on free ports, never a system
service. Needs the Debian package dovecot-imapd (`scripts/setup --test-services`)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from tests.support import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class Dovecot:
    root: Path
    port: int
    tls_port: int

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        client = self.client(user)
        try:
            for raw in messages:
                client.append(folder, raw)
        finally:
            client.logout()


def available() -> bool:
    return Path(DOVECOT).exists()


def _owner() -> pwd.struct_passwd:
    """Dovecot refuses mail access as root: the maildirs belong to its own system user."""
    return pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())


def self_signed_certificate(cert: Path, key: Path) -> None:
    """A throwaway certificate for localhost (openssl, from scripts/setup --test-services)."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-days", "2", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip


def _prepare(root: Path, users: list[str]) -> tuple[int, int]:
    owner = _owner()
    self_signed_certificate(root / "cert.pem", root / "key.pem")
    (root / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in users))
    for sub in ("mail", "home"):
        (root / sub).mkdir()
        if os.getuid() == 0:
            os.chown(root / sub, owner.pw_uid, owner.pw_gid)
    port, tls_port = free_port(), free_port()
    names = {"login_user": "dovenull", "internal_user": "dovecot"}
    if os.getuid() != 0:
        names = {"login_user": owner.pw_name, "internal_user": owner.pw_name}
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root, port=port, tls_port=tls_port, uid=owner.pw_uid, gid=owner.pw_gid, **names
        )
    )
    return port, tls_port


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError("dovecot did not start listening")


@contextlib.contextmanager
def running_dovecot(users: list[str]) -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="contacthub-dovecot-"))
    root.chmod(0o755)  # the mail user must reach its maildir
    try:
        port, tls_port = _prepare(root, users)
        with (root / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            _wait_listening(port, process, root / "dovecot.log")
            _wait_listening(tls_port, process, root / "dovecot.log")
            yield Dovecot(root, port, tls_port)
        finally:
            process.terminate()
            process.wait(10)
    finally:
        shutil.rmtree(root, ignore_errors=True)
