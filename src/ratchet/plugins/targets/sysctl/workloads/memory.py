"""Memory + I/O workload: allocate and touch buffers, write them to a file with fsync and
read them back, for ``--seconds``; prints ``operations_per_second: X`` (one operation is
one buffer through that cycle). Swappiness, dirty-page ratios and cache pressure all
change how fast this runs on a loaded machine.

    python -m ratchet.plugins.targets.sysctl.workloads.memory --seconds 8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

PAGE = 4096


def one_operation(buffer_mb: int, directory: str, index: int) -> None:
    size = buffer_mb << 20
    buf = bytearray(size)
    for offset in range(0, size, PAGE):  # touch every page
        buf[offset] = (offset // PAGE + index) & 0xFF
    path = os.path.join(directory, f"block-{index % 8}")
    with open(path, "wb") as f:
        f.write(buf)
        if index % 4 == 0:
            f.flush()
            os.fsync(f.fileno())
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--buffer-mb", type=int, default=16)
    args = parser.parse_args(argv)
    done = 0
    with tempfile.TemporaryDirectory(prefix="ratchet-membench-") as directory:
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            one_operation(args.buffer_mb, directory, done)
            done += 1
        elapsed = time.perf_counter() - start
    print(f"operations_per_second: {done / elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
