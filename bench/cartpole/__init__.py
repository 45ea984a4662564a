"""The CartPole agent against strong baselines, measured in the same run.

``python -m bench.cartpole --sections nominal,physics`` (``--help`` lists the options).
One module per section; each section's tables are printed and, with the run's date,
commit and machine, written to bench/results/.

1. nominal: the shipped model on 100 episodes of nominal CartPole-v1 (each from a fresh
   state; and in blocks of 10 with the state carried).
2. physics: 30 held-out physics tasks, zero-shot, 3 episodes each: ours (PPO on nominal +
   20 physics training tasks) against SB3 PPO trained with domain randomization over the
   same tasks for the same number of environment steps (--steps), both sides from
   training seeds 0, 1 and 2 (--physics-seeds), each seed its own draw of training tasks;
   ours from seed 0 at 300k steps is the shipped model (--retrain reproduces it here at
   --steps). Two sets of held-out tasks (--physics-task-seeds: set 0, on which the SSM's
   decay cap was chosen, and a fresh set 3). The same models again on episodes cut at 2000
   steps instead of 500 (--long-limit): at 500 all may be perfect. Then two sets of 30
   tasks from the wider ranges of the `wide` split (--wide-task-seeds; extrapolation).
   Each table ends with ours against each SB3 setting, paired by training seed (--workers
   measures seeds side by side).
3. hard: per held-out hard task, the return after <= 10 episodes of adaptation: in context
   (the state carried; mean of episodes 8-10), standard and hybrid gradient adaptation
   and identify (a learned sensor map) (10 episodes), zero-shot (episode 1); SB3 PPO and
   sb3-contrib RecurrentPPO (LSTM), both trained with domain randomization, fine-tuned on
   the same 10 episodes. Then identify alone on fresh sets of 30 held-out hard tasks
   (--fresh-task-seeds, default 3 and 4; the design was settled on task seeds 0-2).
4. rsi: the cartpole-rsi recipe with `evolve` against random search over the same space,
   on the same environment-step budget (training and measuring both counted), --seeds
   seeds; the final champions re-measured on the held-out tasks. Also the wall time of one
   cycle of the default recipe on this machine.
5. selection: how pretraining picks among its checkpoints. The rule until 2026-12-02
   (nominal + 8 validation tasks, 2 episodes each, cut at 500 steps, scored every 20
   updates), the one after it (30 validation tasks, one episode each, cut at 2000, every
   20) and today's (the same, every 5), for training seeds --selection-seeds: each seed
   trains once per rule on the same trajectory (selection does not touch training) and
   each pick plays the held-out physics sets at 500 and --long-limit steps. Not in the
   default sections (~1 min per seed and rule).
6. memory: is the SSM's memory what SB3's MLP holds long episodes without? Per seed
   (--selection-seeds), the SSM as shipped, the same SSM with its memory off (decays
   capped at 1e-4, the previous action and reward not read: a feedforward policy) and
   SB3 PPO with its defaults, on the held-out physics sets at 500 and --long-limit steps.
   Not in the default sections (~6 min per seed).
7. network: is it SB3's network or SB3's training? Per seed (--selection-seeds), the SSM
   as shipped, our PPO trainer (slots, checkpoint pick and all) training SB3's MLP
   (bench/_mlp.py) in place of the SSM, and SB3 PPO with its defaults; held-out sets at
   500 and --long-limit steps and the wide sets at 500. Not in the default sections
   (~12 min per seed).

Needs the bench extra: pip install -e '.[bench]' (stable-baselines3, sb3-contrib).
"""

import os

from ratchet.plugins.targets.cartpole.floatpath import PINNED

# before torch runs a kernel: the models this bench pretrains are then the ones
# `ratchet cartpole pretrain` makes whatever vector code the CPU has (pretrain() turns
# oneDNN off)
os.environ.update(PINNED)
