"""A command benchmark as most are: it reads its settings from a config file, takes a
seed, does the work, and prints its figures as `name: value` lines.

It compresses about 1 MB of this repository's Python source with zlib (the seed picks
which files, in which order) and prints the throughput and the compression ratio:

    $ python examples/compress/bench.py --config examples/compress/config.yaml --seed 1
    mb_per_s: 40.92
    ratio: 3.452

`recipes/compress.yaml` maximizes mb_per_s subject to ratio at least 3.25.
"""

import argparse
import json
import random
import time
import zlib
from pathlib import Path

STRATEGIES = {"default": zlib.Z_DEFAULT_STRATEGY, "filtered": zlib.Z_FILTERED,
              "huffman_only": zlib.Z_HUFFMAN_ONLY, "rle": zlib.Z_RLE, "fixed": zlib.Z_FIXED}
SOURCE = Path(__file__).resolve().parents[2] / "src"


def settings(path: str) -> dict:
    text = Path(path).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in
                                                  text.splitlines() if ":" in line)}


def data(seed: int, size: int = 1_000_000) -> bytes:
    files = sorted(SOURCE.rglob("*.py"))
    random.Random(seed).shuffle(files)
    chunks, total = [], 0
    for f in files:
        chunks.append(f.read_bytes())
        total += len(chunks[-1])
        if total >= size:
            break
    return b"".join(chunks)[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = settings(args.config)
    payload = data(args.seed)
    compressor = zlib.compressobj(int(config["level"]), zlib.DEFLATED, 15,
                                  int(config["mem_level"]), STRATEGIES[config["strategy"]])
    started = time.perf_counter()
    packed = compressor.compress(payload) + compressor.flush()
    seconds = time.perf_counter() - started
    print(f"mb_per_s: {len(payload) / seconds / 1e6:.4f}")
    print(f"ratio: {len(payload) / len(packed):.4f}")


if __name__ == "__main__":
    main()
