"""Email in the hub: the SMTP listener and IMAP pollers wired to ingest, bounces, and the SMTP
relay as the email channel's reply sender (acknowledgements: hub/wiring/acknowledgements.py).

After an email's commit (and never before), `BounceRecording`: a delivery failure report
naming one of our messages marks that message failed (`Store.update_delivery` by our
Message-ID, which the sender recorded as provider id). The SMTP reply and IMAP's flags stay
in the channels: they are the answer to the provider.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import structlog

from channels.base import Channel, Dropped, DropReport, Sink, unreported
from channels.email.imap import ImapChannel, ImapConfig
from channels.email.mime import NAME, MimeLimits
from channels.email.sender import SmtpSender
from channels.email.smtp import SmtpChannel, SmtpConfig
from core.errors import ConfigError, HubError
from core.model import Delivery, Inbound, IngestResult, Outcome
from hub.ingest import AfterCommit
from hub.settings.email import ImapSettings, MimeLimitSettings
from hub.settings.tree import Settings
from storage.base import Store
from storage.blobs import BlobStore

log = structlog.get_logger("contacthub.email")


def email_sender(settings: Settings) -> SmtpSender | None:
    relay = settings.outbound.smtp
    if relay is None:
        return None
    return SmtpSender(
        host=relay.host,
        port=relay.port,
        username=relay.username,
        password=relay.password.get_secret_value() if relay.password else None,
        use_tls=relay.tls,
        start_tls=relay.starttls,
        timeout=relay.timeout.total_seconds(),
        attempts=relay.send_attempts,
        backoff=relay.send_backoff.total_seconds(),
        connections=relay.connections,
        tls_context=_relay_trust(relay.ca_file),
        from_address=relay.from_address,
        message_id_domain=relay.message_id_domain,
        default_from=_first_mailbox(settings),
    )


def _first_mailbox(settings: Settings) -> str | None:
    """Where the hub receives mail, to send from when a ticket names no mailbox (a form's)."""
    smtp, imap = settings.channels.smtp, settings.channels.imap
    if smtp is not None and smtp.mailboxes:
        return smtp.mailboxes[0].lower()
    return next(((m.address or m.username).lower() for m in imap), None)


def email_channels(settings: Settings, store: Store, sink: Sink) -> list[tuple[Channel, Sink]]:
    """The listener and pollers the settings enable, each with the ingest sink."""
    smtp, imap = settings.channels.smtp, settings.channels.imap
    if smtp is None and not imap:
        return []
    blobs = BlobStore(settings.storage.blob_dir)
    channels: list[tuple[Channel, Sink]] = []
    if smtp is not None:
        config = SmtpConfig(
            host=smtp.host,
            port=smtp.port,
            mailboxes=frozenset(m.lower() for m in smtp.mailboxes),
            domains=frozenset(d.lower() for d in smtp.domains),
            hostname=smtp.hostname,
            max_message_bytes=smtp.max_message_bytes,
            max_recipients=smtp.max_recipients,
            tls_context=_tls_context(smtp.tls_cert, smtp.tls_key),
            require_starttls=smtp.require_starttls,
            timeout=smtp.timeout.total_seconds(),
            limits=mime_limits(smtp.limits),
            reuse_port=settings.server.reuse_port,
        )
        channels.append((SmtpChannel(config, blobs.put_many), sink))
    channels += [(ImapChannel(imap_config(m), blobs.put_many, store), sink) for m in imap]
    return channels


def mime_limits(limits: MimeLimitSettings) -> MimeLimits:
    return MimeLimits(
        max_text_chars=limits.max_text_chars,
        max_attachment_bytes=limits.max_attachment_bytes,
        max_attachments_bytes=limits.max_attachments_bytes,
    )


def imap_config(mailbox: ImapSettings) -> ImapConfig:
    return ImapConfig(
        host=mailbox.host,
        port=mailbox.port,
        tls=mailbox.tls,
        starttls=mailbox.starttls,
        verify_tls=mailbox.verify_tls,
        username=mailbox.username,
        password=mailbox.password.get_secret_value() if mailbox.password else None,
        oauth2_token=mailbox.oauth2_token.get_secret_value() if mailbox.oauth2_token else None,
        address=(mailbox.address or mailbox.username).lower(),
        folder=mailbox.folder,
        move_to=mailbox.move_to,
        idle=mailbox.idle,
        poll_interval=mailbox.poll_interval.total_seconds(),
        batch_size=mailbox.batch_size,
        timeout=mailbox.timeout.total_seconds(),
        max_backoff=mailbox.max_backoff.total_seconds(),
        limits=mime_limits(mailbox.limits),
    )


def _relay_trust(ca_file: object) -> ssl.SSLContext | None:
    """The relay's certificate checked by these CAs (a relay signed by the company's own),
    not the system's; None: the system's."""
    if ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"outbound.smtp: cannot load ca_file: {exc}") from exc


def _tls_context(cert: object, key: object) -> ssl.SSLContext | None:
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"channels.smtp: cannot load tls_cert/tls_key: {exc}") from exc
    return context


def email_steps(
    settings: Settings, store: Store, dropped: DropReport = unreported
) -> list[AfterCommit]:
    """The steps after an email's commit, in order, when email comes in."""
    if settings.channels.smtp is None and not settings.channels.imap:
        return []
    return [BounceRecording(store), AttachmentDrops(dropped)]


@dataclass(frozen=True, slots=True)
class AttachmentDrops:
    """After an email's commit: attachments over the size limits (listed on the message
    without their bytes) are counted as dropped."""

    dropped: DropReport

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        count = inbound.meta.get("attachments_dropped") if inbound.channel == NAME else None
        if count and result.outcome is not Outcome.DUPLICATE:
            what = f"{count} attachment(s) over the size limits kept without their bytes"
            setting = "limits.max_attachment_bytes, limits.max_attachments_bytes (smtp, imap)"
            self.dropped(Dropped(NAME, "attachment_over_limit", what, setting))


@dataclass(frozen=True, slots=True)
class BounceRecording:
    """After a bounce's commit: the message it reports undelivered is marked failed."""

    store: Store

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        bounced = inbound.meta.get("bounce_of") if inbound.channel == NAME else None
        if not bounced or result.outcome is Outcome.DUPLICATE:
            return
        status = inbound.meta.get("bounce_status", "")
        reason = f"bounced ({status})" if status else "bounced"
        try:
            await self.store.update_delivery(NAME, bounced, Delivery("failed", bounced, reason))
        except HubError as exc:  # the bounce itself is stored; its verdict can be read there
            log.warning("bounce_not_recorded", error=exc.message)
