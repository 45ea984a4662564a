"""Section selection: how pretraining picks among its checkpoints, the earlier rules
against today's."""

from __future__ import annotations

from bench.cartpole.common import fresh_returns, pooled
from ratchet.plugins.targets.cartpole.pretrain import Selection, pretrain
from ratchet.plugins.targets.cartpole.tasks import task_set

EARLIER_SELECTIONS = {  # label: rule, oldest first
    "used until 2026-12-02": Selection(tasks=8, nominal=True, episodes=2, time_limit=500,
                                       every=20),
    "used on 2026-12-02 before scoring every 5 updates": Selection(every=20)}


def run(seeds: list[int], task_seeds: list[int], long_limit: int, steps: int
                      ) -> None:
    """Pretraining's checkpoint pick: the earlier rules against today's."""
    rules = {f"{rule.describe()} ({label})": rule for label, rule in EARLIER_SELECTIONS.items()}
    rules[f"{Selection().describe()} (now)"] = Selection()
    task_sets = [task_set("physics", "heldout", 30, ts) for ts in task_seeds]
    rows: dict[str, list[tuple[int, int, int, float]]] = {rule: [] for rule in rules}
    for seed in seeds:
        for rule, selection in rules.items():
            model, meta = pretrain(seed=seed, steps=steps, selection=selection)
            short = pooled(fresh_returns, model, task_sets, 500)
            long = pooled(fresh_returns, model, task_sets, long_limit)
            rows[rule].append((meta["selected_at_steps"], sum(r < 500 for r in short),
                               sum(r < long_limit for r in long), min(short)))
        print(f"selection, training seed {seed}: done", flush=True)
    runs = 30 * len(task_seeds)
    print(f"\n## pretraining's checkpoint pick: held-out physics (task sets "
          f"{', '.join(map(str, task_seeds))}: {runs} tasks, 3 fresh-state episodes each) "
          f"per training seed {', '.join(map(str, seeds))}\n"
          f"| rule | picked at (steps) | tasks under 500 | worst at 500 | tasks falling "
          f"before {long_limit} | total under 500 | total falling |\n|---|---|---|---|---|---|---|")
    for rule, found in rows.items():
        print(f"| {rule} | {', '.join(str(r[0]) for r in found)} | "
              f"{', '.join(str(r[1]) for r in found)} | {min(r[3] for r in found):.1f} | "
              f"{', '.join(str(r[2]) for r in found)} | {sum(r[1] for r in found)} of "
              f"{runs * len(seeds)} | {sum(r[2] for r in found)} of {runs * len(seeds)} |")
    *earlier, now = rows.values()
    print()
    for label, before in zip(EARLIER_SELECTIONS, earlier, strict=True):
        better = sum(n[2] < b[2] for b, n in zip(before, now, strict=True))
        worse = sum(n[2] > b[2] for b, n in zip(before, now, strict=True))
        print(f"falls before {long_limit} steps, paired by seed, today's rule against the "
              f"rule {label}: fewer on {better} seeds, more on {worse}")
