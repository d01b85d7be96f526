"""A real Postfix (Debian's, scripts/setup --test-services) for the tests: its own config and
queue in a temp dir, listening on a free port of 127.0.0.1, relaying one domain to a port.

Postfix's master must run as root (it drops to the `postfix` user for each daemon), so a
test using it needs root, as CI has; the system's own Postfix is neither used nor touched.
Every file it needs is written here: nothing is read from /etc/postfix but what the package
keeps there for itself (postfix-files, dynamicmaps.cf).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port

# Every service runs unchrooted (a chroot would need copies of /etc files in the queue).
MASTER_CF = """\
{port}      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {root}/conf
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test
mydomain = mta.test
myorigin = mta.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = {domain}
transport_maps = inline:{{ {domain}=smtp:[127.0.0.1]:{relay_port} }}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtputf8_enable = no
biff = no
# Retries only when the test flushes the queue: the outage lasts as long as it wants.
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
smtp_connect_timeout = 5s
"""


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail(
            "Postfix's master runs only as root (it drops to the postfix user itself): "
            "run this test as root, as CI does.",
            pytrace=False,
        )
    if shutil.which("postfix") is None:
        pytest.fail("postfix is missing: run scripts/setup --test-services", pytrace=False)


class Postfix:
    """One Postfix instance, in the foreground (`postfix start-fg`), stopped by the test."""

    def __init__(self, root: Path, domain: str, relay_port: int, extra: str = "") -> None:
        """`extra`: lines added to main.cf (a test's own restrictions)."""
        self.root = root
        self.port = free_port()
        self.conf = root / "conf"
        self.process: subprocess.Popen[bytes] | None = None
        self.conf.mkdir(parents=True)
        (root / "queue").mkdir(mode=0o755)
        (root / "data").mkdir()
        shutil.chown(root / "data", "postfix", "postfix")
        settings = {"root": root, "domain": domain, "relay_port": relay_port}
        main_cf = MAIN_CF.format(**settings) + extra
        (self.conf / "main.cf").write_text(main_cf, encoding="utf-8")
        (self.conf / "master.cf").write_text(MASTER_CF.format(port=self.port), encoding="utf-8")

    @property
    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)

    def start(self) -> None:
        # post-install creates the queue's directories with their owners and modes.
        made = self.command("postfix", "-c", str(self.conf), "check")
        if made.returncode != 0:
            raise RuntimeError(f"postfix check failed: {made.stderr}")
        with (self.root / "master.out").open("wb") as out:
            self.process = subprocess.Popen(
                ["postfix", "-c", str(self.conf), "start-fg"], stdout=out, stderr=out
            )
        self._wait_listening()

    def _wait_listening(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                out = (self.root / "master.out").read_text(encoding="utf-8")
                raise RuntimeError(f"postfix exited: {out}\n{self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"postfix did not listen on {self.port}: {self.log}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.command("postfix", "-c", str(self.conf), "stop")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None

    def queue(self) -> list[dict[str, Any]]:
        """The queued messages (postqueue -j: one JSON object per line)."""
        listed = self.command("postqueue", "-c", str(self.conf), "-j")
        return [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]

    def flush(self) -> None:
        """Try every deferred message now (postqueue -f)."""
        self.command("postqueue", "-c", str(self.conf), "-f")
