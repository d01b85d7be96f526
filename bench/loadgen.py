"""Driving a server with wrk from pre-signed requests, and reading wrk's figures.

wrk (a Debian package) is the load generator: a Python one saturates before aiohttp does.
wrk's Lua cannot compute HMACs, so every request is signed here beforehand and written to
a file that the Lua script cycles through, each wrk thread over its own slice.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = r"""
local requests = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, total = args[1], tonumber(args[2])
  local index = 0
  for line in io.lines(path) do
    if index % total == id then
      local sig, body = line:match("^(%S+)\t(.*)$")
      local headers = {["Content-Type"] = args[5] or "application/json", [args[4]] = sig}
      if args[6] then headers[args[6]] = args[7] end
      table.insert(requests, wrk.format("POST", args[3], headers, body))
    end
    index = index + 1
  end
  position = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end
"""


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed for the benchmarks: apt-get install wrk")
    return path


def write_requests(path: Path, signed: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{sig}\t{body}\n" for sig, body in signed), encoding="utf-8")


def run_wrk(  # noqa: PLR0913  # wrk's own options, keyword-only
    url: str,
    requests_file: Path,
    *,
    header: str,
    threads: int = 1,
    connections: int = 64,
    seconds: int = 10,
    content_type: str = "application/json",
    fixed_header: tuple[str, str] | None = None,  # the same on every request (a timestamp)
) -> WrkResult:
    script = requests_file.with_suffix(".lua")
    script.write_text(LUA, encoding="utf-8")
    path = "/" + url.split("/", 3)[3]
    command = [
        require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-s", str(script), url, "--", str(requests_file), str(threads), path, header,
        content_type, *(fixed_header or ()),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> WrkResult:
    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else 0.0

    return WrkResult(
        requests_per_second=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=_latency(out, "50%"),
        p99_ms=_latency(out, "99%"),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses:\s+(\d+)")),
        errors=int(sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))),
    )


def _latency(out: str, percentile: str) -> float:
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if match is None:
        return 0.0
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
