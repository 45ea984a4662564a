"""A 10 ms objective for ``bench.overhead``: a quiet bowl that takes 10 ms a call."""

import random
import time


def objective(params: dict, seed: int, size: int) -> list[float]:
    out = []
    for i in range(size):
        time.sleep(0.010)
        noise = random.Random(seed * 1000 + i).gauss(0, 0.01)
        out.append(-(params["x"] - 0.7) ** 2 - (params["y"] - 0.3) ** 2 + noise)
    return out
