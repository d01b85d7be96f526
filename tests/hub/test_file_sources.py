"""Which provider links the hub fetches with a channel's credentials (hub/files/sources.py):
the provider's own origins only, however a link is dressed up; the settings they come from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from yarl import URL

from core.errors import ConfigError
from hub.files.sources import FileSource, file_sources, may_fetch, may_follow, origin_of
from hub.settings.tree import parse_settings
from tests.slack_support import slack_section
from tests.twilio_support import twilio_section

SLACK = FileSource(
    "slack",
    frozenset({("https", "files.slack.com", 443), ("https", "slack.com", 443)}),
    authorization="Bearer xoxb-1",
    redirects=False,
    max_bytes=1 << 20,
    timeout=20.0,
)
EMULATED = FileSource(
    "twilio",
    frozenset({("https", "api.twilio.com", 443), ("http", "127.0.0.1", 8081)}),
    authorization="Basic QUM6dA==",
    redirects=True,
    max_bytes=1 << 20,
    timeout=20.0,
)
SOURCES = (SLACK, EMULATED)
HOSTS = ["files.slack.com", "slack.com", "api.twilio.com", "127.0.0.1"]


def allowed_by_parsers(url: str, source: FileSource) -> bool:
    """The oracle: what two independent parsers (the standard library's and yarl, which
    aiohttp connects with) both read as one of the source's origins, without userinfo."""
    try:
        split, parsed = urlsplit(url), URL(url)
        ports = {"https": 443, "http": 80}
        read_by_split = (split.scheme, split.hostname, split.port or ports.get(split.scheme))
        read_by_yarl = (parsed.scheme, parsed.host, parsed.port)
    except ValueError:  # a port out of range, a broken IPv6 literal ...
        return False
    return (
        read_by_split == read_by_yarl
        and read_by_yarl in source.origins
        and split.username is None
        and parsed.user is None
        and "\\" not in url
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://files.slack.com/files-pri/T1-F1/photo.png",
        "https://FILES.Slack.COM/files-pri/T1-F1/photo.png",  # hosts have no case
        "https://files.slack.com:443/files-pri/T1-F1/a%20b.pdf?t=1#x",
        "https://slack.com/api/files.get",  # the configured api_base's host
        "https://files.slack.com/x/@evil.example/",  # a path may hold an @
    ],
)
def test_slack_links_on_its_origins_are_fetched(url: str) -> None:
    assert may_fetch(url, SLACK)


@pytest.mark.parametrize(
    "url",
    [
        "https://files.slack.com@evil.example/files-pri/x",
        "https://user:pw@files.slack.com/files-pri/x",
        "https://files.slack.com:8443/files-pri/x",
        "https://files.slack.com:443@evil.example/",
        "http://files.slack.com/files-pri/x",  # Slack's base is https: no plain http
        "https://files.slack.com.evil.example/files-pri/x",
        "https://evilfiles.slack.com/files-pri/x",
        "https://files.slack.com./files-pri/x",
        "https://files.slack.com\\@evil.example/",
        "https://evil.example\\files.slack.com/",
        "https://files.slack.com%2F@evil.example/",
        "https://xn--fles-slack-8za.com/",
        "https://f\u0456les.slack.com/files-pri/x",  # a Cyrillic i
        "https://files.slack.com%2eevil.example/",
        "https://files..slack.com/",
        "https:files.slack.com/x",
        "//files.slack.com/x",
        " https://files.slack.com/x",
        "https://files.slack.com/x y",
        "https://files.slack.com:99999/x",
        "https://[::1]/x",
        "javascript:alert(1)//https://files.slack.com/",
        "ftp://files.slack.com/x",
        "",
    ],
)
def test_other_links_are_refused(url: str) -> None:
    assert not may_fetch(url, SLACK)


def test_http_is_fetched_only_where_the_configured_base_is_http() -> None:
    assert may_fetch("http://127.0.0.1:8081/2010-04-01/Accounts/AC1/Media/ME1", EMULATED)
    assert not may_fetch("https://api.twilio.com:8081/x", EMULATED)
    assert not may_fetch("http://api.twilio.com/x", EMULATED)
    assert not may_fetch("http://127.0.0.1/x", EMULATED)  # port 80 is another origin


def test_redirects_are_followed_to_https_and_to_http_only_beside_an_http_base() -> None:
    cdn = "https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC1/x"
    assert may_follow(cdn, SLACK)
    assert not may_fetch(cdn, EMULATED)  # followed, but without the credentials
    assert not may_follow("http://media.twiliocdn.com/x", SLACK)
    assert may_follow("http://localhost:9/cdn/x", EMULATED)
    assert not may_follow("https://user@media.twiliocdn.com/x", EMULATED)
    assert not may_follow("ftp://media.twiliocdn.com/x", EMULATED)


_TRICKS = st.sampled_from(
    ["", "@", ":", ":443", ":80", ":8081", "\\", ".", "..", "%2e", "%40", "/", "#", "?", "%00",
     " ", "\t", "\n", "xn--", "evil.example", "[::1]", "127.0.0.1",
     "\u0131", "\u017f", "\u3002", "\uff46"]  # dotless i, long s, ideographic dot, wide f
)  # fmt: skip
_PARTS = st.one_of(st.sampled_from(HOSTS), _TRICKS, st.text(max_size=6))


@st.composite
def urls(draw: st.DrawFn) -> str:
    """URLs built around a provider's host from the tricks that fool a parser (a good share
    of them plainly the provider's, so both sides of the property are exercised)."""
    scheme = draw(st.sampled_from(["https://", "http://", "HTTPS://", "https:", "https:/", ""]))
    host = draw(st.sampled_from(HOSTS))
    before = draw(st.one_of(st.just([]), st.lists(_PARTS, max_size=2)))
    port = draw(st.sampled_from(["", ":443", ":8081", ":80"]))
    after = draw(st.lists(_PARTS, max_size=4))
    host = host.upper() if draw(st.booleans()) else host
    return scheme + "".join(before) + host + port + "/" + "".join(after)


@settings(max_examples=500)
@given(url=urls(), source=st.sampled_from(SOURCES))
@example(url="https://files.slack.com@evil.example/", source=SLACK)
@example(url="https://files.slack.com.evil.example/", source=SLACK)
@example(url="https://files.slack.com\\@evil.example/", source=SLACK)
@example(url="http://127.0.0.1:8081@evil.example/", source=EMULATED)
def test_no_link_outside_the_providers_origins_is_ever_fetched(
    url: str, source: FileSource
) -> None:
    if may_fetch(url, source):
        assert allowed_by_parsers(url, source)
        origin = origin_of(url)
        assert origin is not None
        scheme, host, port = origin  # and it is written plainly: scheme://host[:port][/...]
        assert re.fullmatch(rf"{scheme}://{re.escape(host)}(:{port})?(/.*)?", url, re.I | re.S)


@given(url=st.text(max_size=80), source=st.sampled_from(SOURCES))
def test_no_text_at_all_is_fetched_unless_both_parsers_read_a_provider_origin(
    url: str, source: FileSource
) -> None:
    if may_fetch(url, source):
        assert allowed_by_parsers(url, source)


def test_sources_come_from_the_channels_settings(tmp_path: Path) -> None:
    channels: dict[str, Any] = {
        "slack": slack_section("http://127.0.0.1:9000/api/", max_file_bytes=4096),
        "twilio": twilio_section(file_timeout="5s"),
    }
    sources = file_sources(parse_settings({"channels": channels}, {}, base=tmp_path))
    assert set(sources) == {"slack", "sms", "voice"}
    assert sources["sms"] is sources["voice"]
    slack, twilio = sources["slack"], sources["sms"]
    assert slack.origins == {("https", "files.slack.com", 443), ("http", "127.0.0.1", 9000)}
    assert (slack.authorization, slack.redirects, slack.max_bytes) == (
        "Bearer xoxb-test-bot-token", False, 4096,
    )  # fmt: skip
    assert twilio.origins == {("https", "api.twilio.com", 443)}
    assert twilio.authorization.startswith("Basic ")
    assert (twilio.redirects, twilio.timeout, twilio.max_bytes) == (True, 5.0, 25 * 1024 * 1024)
    assert "xoxb" not in repr(slack)
    assert file_sources(parse_settings({}, {}, base=tmp_path)) == {}


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"max_file_bytes": 10}, "max_file_bytes"),
        ({"max_file_bytes": 2 << 30}, "max_file_bytes"),
        ({"file_timeout": "0"}, "file_timeout"),
        ({"file_timeout": "1h"}, "file_timeout"),
        ({"file_timeout": "soon"}, "file_timeout"),
    ],
    ids=["tiny-limit", "huge-limit", "no-timeout", "long-timeout", "not-a-duration"],
)
def test_file_limits_out_of_range_are_named_for_each_channel(
    tmp_path: Path, fields: dict[str, Any], key: str
) -> None:
    channels = {"slack": slack_section("https://slack.com/api/", **fields)}
    channels["twilio"] = twilio_section(**fields)
    with pytest.raises(ConfigError) as caught:
        parse_settings({"channels": channels}, {}, base=tmp_path)
    problems = "\n".join(caught.value.problems)
    assert f"channels.slack.{key}" in problems
    assert f"channels.twilio.{key}" in problems
