"""N copies of a bare server on one port (SO_REUSEPORT), as `contacthub serve --workers N`.

    python -m bench.bare_workers N COMMAND...

Each copy gets BENCH_REUSE_PORT=1 (the bare servers pass reuse_port to aiohttp); SIGTERM
stops them all. The benchmarks compare N hub workers with N bare workers this way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType


def main() -> None:
    count, command = int(sys.argv[1]), sys.argv[2:]
    env = {**os.environ, "BENCH_REUSE_PORT": "1"}
    copies = [subprocess.Popen(command, env=env) for _ in range(count)]

    def stop(signum: int, frame: FrameType | None) -> None:
        for copy in copies:
            copy.terminate()

    signal.signal(signal.SIGTERM, stop)
    for copy in copies:
        copy.wait()


if __name__ == "__main__":
    main()
