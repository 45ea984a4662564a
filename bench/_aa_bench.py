"""A benchmark whose every configuration is equally strong, for calibration (A/A).

A game-playing command benchmark: ``--config`` names a JSON file with ``salt`` (what the
search moves: it changes nothing about strength) and ``edge`` (a true advantage in win
probability, 0 for A/A; the power runs set it). Game i of seed S is decided, with
probability ``RHO``, by the seed alone (the opening decides it: challenger and champion
measured on the same seed share it), otherwise by the configuration's own randomness
(``salt``), so the paired games of two configurations are correlated but not copies.
With ``--versus`` it plays the rival head to head: every game independent.
"""

import argparse
import json
import random

RHO = 0.5   # share of games the shared opening decides
P = 0.45    # win probability of a configuration with no edge
DRAW = 0.1  # share of games drawn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--games", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--versus")
    args = ap.parse_args()
    mine = _read(args.config)
    if args.versus:
        rival = _read(args.versus)
        rng = random.Random(f"{args.seed}:{mine['salt']}:{rival['salt']}")
        p = 0.5 * (1 - DRAW) + mine["edge"] - rival["edge"]
        outcomes = [_outcome(rng.random(), p) for _ in range(args.games)]
    else:
        p = P + mine["edge"]
        outcomes = []
        for i in range(args.games):
            shared = random.Random(f"{args.seed}:{i}")
            own = random.Random(f"{args.seed}:{i}:{mine['salt']}")
            u = shared.random() if shared.random() < RHO else own.random()
            outcomes.append(_outcome(u, p))
    print(f"wins: {outcomes.count('W')}\ndraws: {outcomes.count('D')}\n"
          f"losses: {outcomes.count('L')}\noutcomes: {''.join(outcomes)}")


def _outcome(u: float, p: float) -> str:
    return "W" if u < p else "D" if u < p + DRAW else "L"


def _read(path: str) -> dict:
    with open(path) as fh:
        config = json.load(fh)
    return {"salt": int(config["salt"]), "edge": float(config.get("edge", 0.0))}


if __name__ == "__main__":
    main()
