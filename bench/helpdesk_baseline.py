"""django-helpdesk's `get_email` on the email corpus, on this machine: the baseline of #20.

    .venv/bin/python -m bench.helpdesk_baseline [--messages 400] [--runs 3] [--venv PATH]

Issue #20 quotes django-helpdesk's `get_email` at 35-37 emails/s on the same kind of mail,
measured elsewhere; this measures it here, so the ratio with bench/email_bench.py comes
from one machine. django-helpdesk (pinned, with the Django it ran with) lives in its own
virtualenv outside the project's (made once, then reused: `--venv`, by default
.bench-helpdesk-venv). A minimal Django project in a temporary directory follows the
package's installation notes (its INSTALLED_APPS without the teams apps, SITE_ID, helpdesk's
URLs for the links in its emails); its database is SQLite as Django opens it (rollback
journal, synchronous left at SQLite's FULL), one queue reads a local mail directory, and
its acknowledgements and notifications are rendered and sent to Django's in-memory (locmem)
backend, as the hub acknowledges each new ticket through its relay.
Each run, on a fresh copy of the migrated database, writes `--messages` of the corpus of
bench/email_corpus.py (5.4 KB average: plain, text + HTML, an attachment, replies; new
senders) as files into that directory and times `manage.py get_email` over them in the
helpdesk venv's Python, pinned to core 0 as email_bench pins the hub, after a warm-up of 8
other messages (imports, templates, SQLite pages). The directory is listed in name order,
which is arrival order, so a reply comes after the message it answers (the hub reads them
in that order off SMTP; os.listdir's order on ext4 is a hash's). Prints each run's
emails/s, CPU per email and what helpdesk stored, then the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.email_corpus import SUPPORT, corpus

PINS = {"django-helpdesk": "2.6.1", "django": "5.2.19"}  # the figure is reproducible
DEFAULT_VENV = Path(__file__).resolve().parent.parent / ".bench-helpdesk-venv"
CORE = 0
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
WARM_MESSAGES = 8  # two of each kind of the corpus

SETTINGS = f"""\
import os

SECRET_KEY = "bench-only, not a secret"
DEBUG = False  # as in production: DEBUG keeps every SQL query in memory
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "django_cleanup.apps.CleanupConfig",
    "helpdesk",
]
HELPDESK_TEAMS_MODE_ENABLED = False
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {{"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]}},
}}]
ROOT_URLCONF = "bench_urls"
SITE_ID = 1
STATIC_URL = "/static/"
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB"],
}}}}
MEDIA_ROOT = os.environ.get("BENCH_MEDIA", "")
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "{SUPPORT}"
"""

URLS = """\
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
"""

# Runs in the helpdesk venv: `driver.py CORE migrate` or `driver.py CORE run WARM MAIL`.
DRIVER = f"""\
import json, os, sys, time

os.sched_setaffinity(0, {{int(sys.argv[1])}})
import django

django.setup()
from django.core import mail
from django.core.management import call_command
from django.db import connection
from helpdesk.models import FollowUp, FollowUpAttachment, Queue, Ticket


def migrate():
    call_command("migrate", verbosity=0)
    call_command("check", fail_level="ERROR")
    Queue.objects.create(
        title="Support", slug="support", email_address="{SUPPORT}",
        allow_email_submission=True, email_box_type="local",
    )


def counts():
    return {{
        "tickets": Ticket.objects.count(), "followups": FollowUp.objects.count(),
        "attachments": FollowUpAttachment.objects.count(),
        "emails_sent": len(getattr(mail, "outbox", [])),
    }}


def get_email(directory):
    # last_check None: get_email polls the queue now, whatever its interval
    Queue.objects.update(email_box_local_dir=directory, email_box_last_check=None)
    call_command("get_email", quiet=True)


def run(warm, mails):
    listdir = os.listdir
    os.listdir = lambda path: sorted(listdir(path))
    get_email(warm)
    before = counts()
    cpu, started = time.process_time(), time.perf_counter()
    get_email(mails)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = counts()
    with connection.cursor() as cursor:
        pragmas = [cursor.execute(f"PRAGMA {{name}}").fetchone()[0]
                   for name in ("journal_mode", "synchronous")]
    done = {{key: after[key] - before[key] for key in after}}
    print(json.dumps({{"elapsed": elapsed, "cpu": cpu, "left": len(listdir(mails)),
                      "journal_mode": pragmas[0], "synchronous": pragmas[1], **done}}))


if sys.argv[2] == "migrate":
    migrate()
else:
    run(sys.argv[3], sys.argv[4])
"""


_PROBE = """\
import importlib.metadata as m, json, platform, sys
found = {name: m.version(name) for name in sys.argv[1:]}
print(json.dumps({**found, "python": platform.python_version()}))
"""


def _versions(python: Path) -> dict[str, str]:
    """The pinned packages' versions in the venv, and its Python's ({} if none)."""
    if not python.exists():
        return {}
    command = [str(python), "-c", _PROBE, *PINS]
    found = subprocess.run(command, check=False, capture_output=True, text=True)
    return dict(json.loads(found.stdout)) if found.returncode == 0 else {}


def _pinned(python: Path) -> bool:
    found = _versions(python)
    return all(found.get(name) == version for name, version in PINS.items())


def helpdesk_python(venv: Path) -> Path:
    """The venv's Python, with the pinned django-helpdesk installed (once)."""
    python = venv / "bin" / "python"
    if not _pinned(python):
        print(f"installing {', '.join(f'{n}=={v}' for n, v in PINS.items())} into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pins = [f"{name}=={version}" for name, version in PINS.items()]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
        if not _pinned(python):
            raise SystemExit(f"{venv}: could not install {pins}")
    return python


@dataclass(frozen=True, slots=True)
class Project:
    """The Django project in a temporary directory, and the helpdesk venv's Python."""

    root: Path
    python: Path

    def driver(self, db: Path, *args: str, media: Path | None = None) -> str:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench_settings", "BENCH_DB": str(db),
               "PYTHONPATH": str(self.root),
               "PYTHONUTF8": "1"}  # fmt: skip  # helpdesk reads the mail files as text
        if media is not None:
            env["BENCH_MEDIA"] = str(media)
        command = [str(self.python), str(self.root / "driver.py"), str(CORE), *args]
        done = subprocess.run(
            command, check=False, cwd=self.root, env=env, capture_output=True, text=True
        )
        if done.stderr.strip():
            print(done.stderr.rstrip(), file=sys.stderr)  # helpdesk's warnings, if any
        if done.returncode != 0:
            raise SystemExit(f"django-helpdesk driver failed ({done.returncode}): {args[0]}")
        return done.stdout


def make_project(root: Path, python: Path) -> Project:
    for name, text in (("bench_settings.py", SETTINGS), ("bench_urls.py", URLS),
                       ("driver.py", DRIVER)):  # fmt: skip
        (root / name).write_text(text, encoding="utf-8")
    project = Project(root, python)
    project.driver(root / "template.db", "migrate")  # migrated once, copied for each run
    return project


def write_mail(directory: Path, run: str, count: int, seed: int) -> int:
    """The corpus as one file per message, named in arrival order; returns the replies."""
    directory.mkdir()
    replies = 0
    for number, mail in enumerate(corpus(run, count, seed)):
        (directory / f"{number:06d}.eml").write_bytes(mail.raw)
        replies += mail.kind == "reply"
    return replies


def measure(project: Project, number: int, count: int) -> tuple[dict[str, Any], int]:
    workdir = project.root / f"run{number}"
    workdir.mkdir()
    db = workdir / "helpdesk.db"
    shutil.copyfile(project.root / "template.db", db)
    write_mail(workdir / "warm", "warm", WARM_MESSAGES, seed=1)
    replies = write_mail(workdir / "mail", "run", count, seed=20)
    out = project.driver(db, "run", str(workdir / "warm"), str(workdir / "mail"),
                         media=workdir / "media")  # fmt: skip
    return json.loads(out.splitlines()[-1]), replies


def check(result: dict[str, Any], count: int) -> None:
    processed = count - result["left"]
    if processed < count or result["followups"] < count:
        raise SystemExit(
            f"django-helpdesk processed {processed} of {count} messages "
            f"({result['followups']} follow-ups stored): the figure would not be real work"
        )


def describe(number: int, result: dict[str, Any], count: int, replies: int) -> tuple[float, float]:
    rate = count / result["elapsed"]
    cpu_ms = result["cpu"] / count * 1000
    threaded = result["followups"] - result["tickets"]
    print(f"run {number}: {count} emails in {result['elapsed']:.2f} s: {rate:.1f} emails/s, "
          f"{cpu_ms:.1f} ms CPU per email; stored {result['tickets']} tickets, "
          f"{result['followups']} follow-ups from {count} files ({threaded} of {replies} "
          f"replies threaded onto earlier tickets), {result['attachments']} attachments; "
          f"{result['emails_sent']} emails sent to locmem")  # fmt: skip
    return rate, cpu_ms


@dataclass(frozen=True, slots=True)
class Baseline:
    """The medians of the runs."""

    rate: float  # emails/s
    cpu_ms: float  # ms of CPU per email


def summary(python: Path, last: dict[str, Any], baseline: Baseline, runs: int) -> None:
    versions = _versions(python)
    helpdesk = versions["django-helpdesk"]
    synchronous = SYNCHRONOUS.get(last["synchronous"], last["synchronous"])
    print(f"django-helpdesk {helpdesk} (Django {versions['django']}, Python "
          f"{versions['python']}); SQLite journal_mode={last['journal_mode']} "
          f"synchronous={synchronous}; acknowledgements and notifications rendered "
          "and sent to Django's locmem backend")  # fmt: skip
    print(
        f"django-helpdesk {helpdesk} get_email: {baseline.rate:.1f} emails/s "
        f"(median of {runs}), {baseline.cpu_ms:.1f} ms CPU per email, on core {CORE}"
    )


def measure_baseline(messages: int, runs: int, venv: Path = DEFAULT_VENV) -> Baseline:
    """Run django-helpdesk `runs` times on `messages` of the corpus; print each run and the
    medians (bench/email_bench.py's `--helpdesk` prints its ratio with them)."""
    python = helpdesk_python(venv)
    rates, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="contacthub-helpdesk-bench-") as tmp:
        project = make_project(Path(tmp), python)
        for number in range(1, runs + 1):
            result, replies = measure(project, number, messages)
            check(result, messages)
            rate, cpu_ms = describe(number, result, messages, replies)
            rates.append(rate)
            cpus.append(cpu_ms)
    baseline = Baseline(statistics.median(rates), statistics.median(cpus))
    summary(python, result, baseline, runs)
    return baseline


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="django-helpdesk's virtualenv, made if missing")  # fmt: skip
    args = parser.parse_args()
    if args.messages < 1 or args.runs < 1:
        parser.error("--messages and --runs must be at least 1")
    measure_baseline(args.messages, args.runs, args.venv)


if __name__ == "__main__":
    main()
