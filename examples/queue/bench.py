"""A benchmark of your own, in the shape ratchet expects: it reads its settings from a
config file, runs once on a seed, and prints one ``metric: value`` line.

Here the "system" is a simulated request queue: requests arrive at random (the seed picks
the arrival stream and the service times), ``workers`` serve them in batches of up to
``batch``, and a batch is not started until it is full or ``wait_ms`` has passed. More
workers contend for the machine; bigger batches save per-request set-up but make requests
wait. The printed figure is the mean latency in milliseconds (smaller is better), and it
is noisy: two seeds give different numbers for the same settings.

    python examples/queue/bench.py --config examples/queue/config.yaml --seed 1
"""

from __future__ import annotations

import argparse
import heapq
import random
from pathlib import Path

import yaml

RATE_PER_MS = 0.9   # arrivals per millisecond
REQUESTS = 2000


def mean_latency_ms(workers: int, batch: int, wait_ms: float, seed: int) -> float:
    rng = random.Random(seed)
    now, arrivals = 0.0, []
    for _ in range(REQUESTS):
        now += rng.expovariate(RATE_PER_MS)
        arrivals.append(now)
    contention = 1.0 + 0.06 * max(0, workers - 4) ** 1.5
    free_at = [0.0] * workers  # when each worker is next free (a heap)
    total, i = 0.0, 0
    while i < len(arrivals):
        start = max(heapq.heappop(free_at), arrivals[i])
        ready = start + wait_ms  # wait for the batch to fill, at most wait_ms
        n = 1
        while n < batch and i + n < len(arrivals) and arrivals[i + n] <= ready:
            n += 1
        if n == batch:  # full before the wait was over: start when the last one came
            ready = max(start, arrivals[i + n - 1])
        else:
            ready = max(start, min(ready, arrivals[i + n - 1] if n > 1 else start))
        service = (1.5 + 0.35 * n) * contention * rng.lognormvariate(0.0, 0.25)
        done = ready + service
        total += sum(done - arrivals[i + k] for k in range(n))
        heapq.heappush(free_at, done)
        i += n
    return total / len(arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    latency = mean_latency_ms(int(config["workers"]), int(config["batch"]),
                              float(config["wait_ms"]), args.seed)
    print(f"latency_ms: {latency:.4f}")


if __name__ == "__main__":
    main()
