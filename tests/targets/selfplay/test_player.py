"""The self-play player's parts on real OpenSpiel games: the game check, the network's
files, and the batched PUCT search."""

import json

import numpy as np
import pyspiel
import pytest

from ratchet.plugins.targets.selfplay.game import GameError, game_info, load_game
from ratchet.plugins.targets.selfplay.mcts import (
    SearchConfig,
    choose,
    search,
    uniform_evaluator,
)
from ratchet.plugins.targets.selfplay.network import (
    NetworkError,
    load_network,
    new_network,
    paths,
    save_network,
)


def test_games_by_name_and_parameters():
    assert game_info("connect_four").actions == 7
    hex5 = game_info("hex(board_size=5)")
    assert hex5.actions == 25 and hex5.observation_size == 9 * 5 * 5 + 2
    # a game written in Python, registered with pyspiel when its module is imported
    mine = "open_spiel.python.games.tic_tac_toe:python_tic_tac_toe"
    assert game_info(mine).actions == 9
    net = new_network(game_info(mine), hidden=8, blocks=0)
    visits = search([load_game(mine).new_initial_state()], net.evaluate, 9,
                    SearchConfig(simulations=8), np.random.default_rng(0))
    assert visits[0].sum() == 8


@pytest.mark.parametrize("spec, says", [
    ("nosuchgame", "unknown game 'nosuchgame'"),
    ("kuhn_poker", "chance events"),
    ("matrix_rps", "players taking turns"),
    ("hex(nosuch=3)", "Unknown parameter 'nosuch'"),
    ("no_such_module:my_game", "game module 'no_such_module' could not be imported"),
])
def test_games_self_play_cannot_play_are_one_clear_error(spec, says, capfd):
    with pytest.raises(GameError, match=says):
        load_game(spec)
    assert capfd.readouterr().err == ""  # OpenSpiel's own print is swallowed


def test_network_files_round_trip_and_are_checked(tmp_path):
    game = game_info("tic_tac_toe")
    net = new_network(game, hidden=16, blocks=1)
    digest = save_network(net, tmp_path / "v1")
    weights, arch = paths(tmp_path / "v1")
    loaded = load_network(tmp_path / "v1", game, sha256=digest)
    obs = np.random.default_rng(0).random((3, game.observation_size), dtype=np.float32)
    legal = np.ones((3, game.actions), dtype=bool)
    legal[:, 4] = False
    for a, b in zip(net.evaluate(obs, legal), loaded.evaluate(obs, legal), strict=True):
        np.testing.assert_allclose(a, b)
    priors, values = loaded.evaluate(obs, legal)
    assert np.allclose(priors.sum(axis=1), 1) and (priors[:, 4] == 0).all()
    assert (np.abs(values) <= 1).all()

    with pytest.raises(NetworkError, match="not the recorded"):
        load_network(tmp_path / "v1", game, sha256="0" * 64)
    with pytest.raises(NetworkError, match="connect_four has 128 observation values"):
        load_network(tmp_path / "v1", game_info("connect_four"))
    spec = json.loads(arch.read_text())
    arch.write_text(json.dumps({**spec, "hidden": 32}))
    with pytest.raises(NetworkError, match="do not match"):
        load_network(tmp_path / "v1", game)
    weights.write_bytes(b"\x80\x04 a pickle is never loaded")
    arch.write_text(json.dumps(spec))
    with pytest.raises(NetworkError, match="not a safetensors file"):
        load_network(tmp_path / "v1", game)


def _tic_tac_toe(moves):
    state = pyspiel.load_game("tic_tac_toe").new_initial_state()
    for move in moves:
        state.apply_action(move)
    return state


def test_search_takes_a_win_and_blocks_a_loss_with_no_network():
    win = _tic_tac_toe([0, 3, 1, 4])    # x holds 0 and 1: 2 wins
    block = _tic_tac_toe([0, 4, 1])     # o must take 2
    visits = search([win, block], uniform_evaluator, 9, SearchConfig(simulations=300),
                    np.random.default_rng(0))
    assert choose(visits[0], 0, np.random.default_rng(0)) == 2
    assert choose(visits[1], 0, np.random.default_rng(0)) == 2
    assert all(v[a] == 0 for v, s in zip(visits, (win, block), strict=True)
               for a in range(9) if a not in s.legal_actions())


def test_leaves_of_every_game_share_one_forward_pass():
    game = pyspiel.load_game("connect_four")
    states = [game.new_initial_state() for _ in range(8)]
    batches: list[int] = []

    def evaluator(observations, legal):
        batches.append(len(observations))
        return uniform_evaluator(observations, legal)

    search(states, evaluator, 7, SearchConfig(simulations=20, noise=True),
           np.random.default_rng(0))
    assert len(batches) == 21  # the roots, then one call per round
    assert batches[0] == 8 and max(batches) == 8


def test_self_play_records_train_the_network():
    from ratchet.plugins.targets.selfplay.play import GameRecord, SelfPlayConfig, play_games
    from ratchet.plugins.targets.selfplay.train import TrainConfig, samples_from, train

    game = pyspiel.load_game("tic_tac_toe")
    net = new_network(game_info("tic_tac_toe"), hidden=32, blocks=1)
    config = SelfPlayConfig(SearchConfig(simulations=16, noise=True))
    records = play_games(game, "tic_tac_toe", net.evaluate, 12, config,
                         np.random.default_rng(0), version=3, worker="w0")
    assert len(records) == 12
    for r in records:
        assert r.version == 3 and len(r.moves) == len(r.policies) >= 5
        assert sorted(r.returns) in ([-1.0, 1.0], [0.0, 0.0])
        assert all(abs(sum(p.values()) - 1) < 1e-9 for p in r.policies)
        assert GameRecord.from_dict(r.to_dict()) == r
    samples = samples_from(game, records)
    assert len(samples) == sum(len(r.moves) for r in records)
    losses = train(net, samples, TrainConfig(steps=60, batch=32, lr=3e-3))
    assert np.mean(losses[-10:]) < np.mean(losses[:10])


def test_playout_cap_randomization_learns_only_from_full_searches():
    """KataGo's playout caps: a share of the moves get the full search and are training
    targets; the rest are searched fast (fewer simulations), played, and not learned
    from, though the game's result still trains the positions that are."""
    from ratchet.plugins.targets.selfplay.play import SelfPlayConfig, play_games
    from ratchet.plugins.targets.selfplay.train import samples_from

    game = pyspiel.load_game("tic_tac_toe")
    calls = []

    def evaluator(observations, legal):
        calls.append(len(observations))
        return uniform_evaluator(observations, legal)

    def played(share):
        calls.clear()
        config = SelfPlayConfig(SearchConfig(simulations=24, noise=True),
                                full_search_share=share, fast_simulations=4)
        return play_games(game, "tic_tac_toe", evaluator, 16, config,
                          np.random.default_rng(0)), sum(calls)  # positions evaluated

    full, full_evaluated = played(1.0)
    capped, capped_evaluated = played(0.25)
    assert all(p for r in full for p in r.policies)
    targets = [p for r in capped for p in r.policies if p]
    moves = sum(len(r.moves) for r in capped)
    assert 0.1 < len(targets) / moves < 0.45, (len(targets), moves)  # about a quarter
    assert len(samples_from(game, capped)) == len(targets)
    per_move = full_evaluated / sum(len(r.moves) for r in full)
    assert capped_evaluated / moves < 0.5 * per_move, (capped_evaluated / moves, per_move)


def test_resignation_ends_lost_games_and_checked_games_count_false_resignations(tmp_path):
    """Tic-tac-toe against itself with plain MCTS: a player whose search values its
    position below the bar resigns (its game ends there, lost); in checked games play
    goes on and what became of the would-be resigner is counted in the store."""
    from ratchet.plugins.targets.selfplay.gamestore import (
        RESIGN_CHECKED,
        RESIGN_FALSE,
        RESIGNED,
        GameStore,
    )
    from ratchet.plugins.targets.selfplay.play import GameRecord, SelfPlayConfig, play_games

    game = pyspiel.load_game("tic_tac_toe")
    config = SelfPlayConfig(SearchConfig(simulations=48, noise=True), temperature_moves=2,
                            resign_value=-0.5, resign_check_share=0.5)
    records = play_games(game, "tic_tac_toe", uniform_evaluator, 40, config,
                         np.random.default_rng(1))
    resigned = [r for r in records if r.resigned is not None]
    checked = [r for r in records if r.would_resign is not None]
    assert resigned and checked, "expected both resigned and checked games"
    for r in resigned:
        state = game.new_initial_state()
        for move in r.moves:
            state.apply_action(move)
        assert not state.is_terminal() and state.current_player() == r.resigned
        assert r.returns[r.resigned] == -1.0 and sum(r.returns) == 0
        assert GameRecord.from_dict(r.to_dict()) == r
    assert all(r.resigned is None for r in checked)  # played to the end
    with GameStore(tmp_path / "g.db") as store:
        store.append(records)
        store.append(records[:1])
        counts = [int(store.meta(k, "0") or 0) for k in (RESIGNED, RESIGN_CHECKED,
                                                           RESIGN_FALSE)]
    first = records[0]
    assert counts == [len(resigned) + (first.resigned is not None),
                      len(checked) + (first.would_resign is not None),
                      sum(r.false_resignation for r in checked) + first.false_resignation]


def test_the_temperature_schedule_and_the_recency_weighted_window():
    from ratchet.plugins.targets.selfplay.play import SelfPlayConfig
    from ratchet.plugins.targets.selfplay.spec import SelfPlaySpec
    from ratchet.plugins.targets.selfplay.train import draw_weights

    spec = SelfPlaySpec(game="tic_tac_toe", simulations=40, temperature_moves=4,
                        temperature_end=0.25, full_search_share=0.5, fast_simulations=8,
                        resign_value=-0.9, c_puct=2.5, match_simulations=12)
    config = spec.play_config()  # what the workers and the loop play with
    assert (config.search.simulations, config.search.noise, config.search.c_puct,
            config.fast_simulations, config.full_search_share,
            config.resign_value) == (40, True, 2.5, 8, 0.5, -0.9)
    rated = spec.match_search()  # promotion tests, probation, and (by their configs) the
    assert (rated.simulations, rated.c_puct, rated.noise) == (12, 2.5, False)  # and gate
    assert spec.ladder_search().simulations == 12  # the ladder: as rated games unless said
    deeper = spec.model_copy(update={"ladder_simulations": 64}).ladder_search()
    assert (deeper.simulations, deeper.c_puct) == (64, 2.5)
    assert [config.temperature_at(p) for p in (0, 3, 4, 30)] == [1.0, 1.0, 0.25, 0.25]
    assert SelfPlayConfig().temperature_at(8) == 0.0  # the default: the best move after
    assert draw_weights(np.array([0.0, 5.0]), None) is None
    weights = draw_weights(np.array([0.0, 100.0, 200.0, 200.0]), 100.0)
    assert np.allclose(weights, np.array([4, 2, 1, 1]) / 8)


def test_bradley_terry_ratings_recover_known_strengths_with_intervals():
    from ratchet.core.stats import elo_to_score
    from ratchet.plugins.targets.selfplay.ratings import fit

    rng = np.random.default_rng(1)
    true = {"random": 0.0, "mcts-25": 150.0, "v1": 300.0, "v2": 330.0}
    names = list(true)
    results = []
    for _ in range(4000):
        a, b = rng.choice(names, 2, replace=False)
        p = elo_to_score(true[a] - true[b])
        u = rng.random()
        results.append((a, b, 1.0 if u < p - 0.05 else 0.5 if u < p + 0.05 else 0.0))
    ratings = fit(results, anchor="random")
    assert ratings["random"].elo == 0.0
    for name, elo in true.items():
        r = ratings[name]
        assert r.low - 5 <= elo <= r.high + 5, (name, r)
    assert ratings["v2"].high - ratings["v2"].low < 80
    unbeaten = fit([("v1", "random", 1.0)] * 20, anchor="random")["v1"]
    assert 300 < unbeaten.elo < 2000 and unbeaten.low > 0  # finite, clearly above


def test_matches_are_played_in_pairs_from_shared_openings():
    from ratchet.plugins.targets.selfplay.match import (
        MCTSAnchor,
        NetworkPlayer,
        RandomPlayer,
        play_pairs,
        scores_of,
    )

    game = pyspiel.load_game("connect_four")
    strong, weak = MCTSAnchor(game, 100, seed=1), RandomPlayer(seed=2)
    results = play_pairs(game, strong, weak, pairs=10, seed=0, opening_moves=2)
    assert len(results) == 20
    for first, second in zip(results[::2], results[1::2], strict=True):
        assert first.pair == second.pair
        assert (first.first, second.first) == ("mcts-100", "random")
    assert np.mean(scores_of(results, "mcts-100")) >= 0.8
    assert scores_of(results, "random") == [1 - s for s in scores_of(results, "mcts-100")]

    net = new_network(game_info("connect_four"), hidden=16, blocks=1)
    player = NetworkPlayer("v0", net, 7, SearchConfig(simulations=8))
    short = play_pairs(game, player, weak, pairs=2, seed=1, max_moves=6)
    assert all(r.length <= 6 for r in short)
    assert all(r.score == 0.5 for r in short if r.length == 6)  # cut off: a draw


def test_the_value_target_mixes_the_result_with_the_searchs_root_value(tmp_path):
    """value_q_weight w: each position's value target is (1 - w) * result + w * q, q the
    root value self-play stored with the move, for the player to move; a game stored
    before root values were kept (a store of the tables' first version) trains on its
    result alone."""
    import sqlite3

    from ratchet.core.store import PluginSchema
    from ratchet.plugins.targets.selfplay.gamestore import TABLES, GameStore
    from ratchet.plugins.targets.selfplay.play import SelfPlayConfig, play_games
    from ratchet.plugins.targets.selfplay.train import samples_from

    game = pyspiel.load_game("tic_tac_toe")
    played = play_games(game, "tic_tac_toe", uniform_evaluator, 6,
                        SelfPlayConfig(SearchConfig(simulations=32, noise=True)),
                        np.random.default_rng(0))
    for r in played:
        assert len(r.root_values) == len(r.moves)
        assert all(-1 <= q <= 1 for q in r.root_values)
        # the last move's search sees the win or draw it plays: q is the mover's result
        assert r.root_values[-1] == pytest.approx(r.returns[(len(r.moves) - 1) % 2], abs=0.3)
    result = np.concatenate([[r.returns[ply % 2] for ply in range(len(r.moves))]
                             for r in played])
    q = np.concatenate([r.root_values for r in played])
    assert np.allclose(samples_from(game, played).values, result)
    assert np.allclose(samples_from(game, played, 0.25).values, 0.75 * result + 0.25 * q)
    assert np.allclose(samples_from(game, played, 1.0).values, q)

    old = sqlite3.connect(tmp_path / "ratchet.db", isolation_level=None)
    PluginSchema(TABLES.name, TABLES.migrations[:1]).apply(old)  # the first version
    old.execute("INSERT INTO selfplay_games (config, version, worker, host, moves, "
                "policies, returns, duration_s, created_at) VALUES ('tic_tac_toe', 0, "
                "'w0', 'h', '[4, 0]', '[{\"4\": 1.0}, {\"0\": 1.0}]', '[1.0, -1.0]', 0, 0)")
    old.close()
    with GameStore(tmp_path / "ratchet.db") as store:  # brought up to date
        store.append(played[:1])
        before, after = store.window("tic_tac_toe")
    assert before.root_values == [] and after == played[0]
    assert list(samples_from(game, [before], 0.5).values) == [1.0, -1.0]


def test_the_game_store_keeps_games_and_rated_games_by_pool(tmp_path):
    from ratchet.plugins.targets.selfplay.gamestore import GameStore
    from ratchet.plugins.targets.selfplay.match import GameResult
    from ratchet.plugins.targets.selfplay.play import GameRecord

    def record(version, worker="w0"):
        return GameRecord("tic_tac_toe", [4, 0, 8], [{4: 1.0}, {0: 0.5, 1: 0.5}, {8: 1.0}],
                          (1.0, -1.0), version, worker, "host", 0.1)

    with GameStore(tmp_path / "ratchet.db") as store:
        first = store.append([record(0), record(0)])
        store.append([record(1), record(2, "w1")])
        store.append([GameRecord("hex(board_size=5)", [1], [{1: 1.0}], (1.0, -1.0), 0)])
        assert store.count("tic_tac_toe") == 4 and store.count("tic_tac_toe", first) == 2
        assert [r.version for r in store.window("tic_tac_toe", last_games=3)] == [0, 1, 2]
        assert [r.version for r in store.window("tic_tac_toe", last_versions=2)] == [1, 2]
        assert store.window("tic_tac_toe")[-1] == record(2, "w1")
        store.add_rated("tic_tac_toe", "test", [GameResult(0, "v1", "random", 1.0, 5),
                                                GameResult(0, "random", "v1", 0.5, 9)])
    with GameStore(tmp_path / "ratchet.db") as again:  # reopened: nothing lost
        assert again.count("tic_tac_toe") == 4 and again.count("hex(board_size=5)") == 1
        assert again.rated("tic_tac_toe") == [("v1", "random", 1.0), ("random", "v1", 0.5)]
        assert again.rated("hex(board_size=5)") == []


@pytest.mark.slow
def test_the_gate_runs_in_its_own_process_and_fails_closed(tmp_path):
    from ratchet.plugins.targets.selfplay.gate import CHECKS, GateConfig, run_gate

    net = new_network(game_info("tic_tac_toe"), hidden=16, blocks=1)
    digest = save_network(net, tmp_path / "v1")
    quick = GateConfig(simulations=8, random_pairs=5, anchor_simulations=10,
                       anchor_max_pairs=10, timeout_s=120)
    results = {r.check: r for r in run_gate(tmp_path / "v1", "tic_tac_toe", digest, quick)}
    assert set(results) == set(CHECKS)
    assert results["loads"].passed and results["legal_moves"].passed
    assert not results["vs_random"].passed  # 10 games cannot show a lower bound of 0.9
    assert "95% bounds [" in results["vs_random"].reason

    def all_failed(results, says):
        assert {r.check for r in results} == set(CHECKS)
        assert all(not r.passed and says in r.reason for r in results), results

    all_failed(run_gate(tmp_path / "v1", "tic_tac_toe", digest,
                        GateConfig(**{**quick.__dict__, "timeout_s": 0.5})),
               "did not finish within 0.5 s")
    all_failed(run_gate(tmp_path / "v1", "nosuchgame", digest, quick), "exited with code 1")


def test_the_gates_soundness_checks_fail_on_what_they_guard(tmp_path):
    """An illegal move is counted (and replaced: the engine referees); games cut off at
    the move limit fail the length check."""
    from ratchet.plugins.targets.selfplay.gate import GateConfig, _Checked, run_checks

    class Cheat:
        name = "cheat"

        def moves(self, states):
            return [s.legal_actions()[0] if i else 99 for i, s in enumerate(states)]

    state = load_game("tic_tac_toe").new_initial_state()
    checked = _Checked(Cheat())
    assert checked.moves([state, state.clone()]) == [0, 0]
    assert checked.illegal == 1 and checked.moves_made == 2

    net = new_network(game_info("tic_tac_toe"), hidden=16, blocks=1)
    digest = save_network(net, tmp_path / "v1")
    short = GateConfig(simulations=4, random_pairs=3, anchor_simulations=4,
                       anchor_max_pairs=10, max_moves=3)
    results = {r.check: r for r in run_checks(str(tmp_path / "v1"), "tic_tac_toe", digest,
                                              short)}
    assert not results["game_length"].passed
    assert "reached the move limit (3) unfinished" in results["game_length"].reason
    assert results["legal_moves"].passed and results["legal_moves"].value == 0


def test_the_gates_latency_counts_the_moves_cpu_time_not_the_wait_for_a_busy_core():
    """A move that waits (here: sleeps 0.3 s, as one preempted on a busy machine would) costs
    no CPU time; a move that computes 60 ms of CPU time is counted at least that; the first
    move (lazy set-up) is not counted, and the median ignores one slow move."""
    import time

    from ratchet.plugins.targets.selfplay.gate import latency_ms

    class Player:
        def __init__(self, cost):
            self.cost, self.made = cost, 0

        def moves(self, states):
            self.cost(self.made)
            self.made += 1
            return [states[0].legal_actions()[0]]

    def burn(seconds):
        until = time.process_time() + seconds
        while time.process_time() < until:
            pass

    game = load_game("connect_four")
    waits = latency_ms(Player(lambda i: time.sleep(0.3)), game.new_initial_state())
    computes = latency_ms(Player(lambda i: burn(0.06)), game.new_initial_state())
    first_slow = latency_ms(Player(lambda i: burn(0.5 if i in (0, 3) else 0.0)),
                            game.new_initial_state())
    assert waits < 60 <= computes and first_slow < 60, (waits, computes, first_slow)
    assert latency_ms(Player(lambda i: None), game.new_initial_state(), moves=3) >= 0


def test_a_worker_picks_up_a_new_champion_within_one_batch_and_refuses_a_bad_hash(tmp_path):
    from ratchet.plugins.targets.selfplay.play import SelfPlayConfig
    from ratchet.plugins.targets.selfplay.worker import ChampionMessage, run_worker

    info = game_info("tic_tac_toe")
    messages = []
    for version in (1, 2):
        digest = save_network(new_network(info, hidden=8, blocks=1, seed=version),
                              tmp_path / f"v{version}")
        weights, arch = paths(tmp_path / f"v{version}")
        messages.append(ChampionMessage(version, digest, weights.read_bytes(),
                                        arch.read_text()))
    # v2's weights under v3's record: refused, and the worker keeps playing v2
    tampered = ChampionMessage(3, "0" * 64, messages[1].weights, messages[1].architecture)
    batches: list[list] = []
    feed = iter([messages[0], messages[1], messages[1], tampered, tampered])

    class Link:
        def latest(self):
            return next(feed)

        def stopped(self):
            return False

        def retiring(self):
            return False

    stats = run_worker("tic_tac_toe", Link(), batches.append, worker="w0",
                       games_per_batch=2, max_batches=5,
                       config=SelfPlayConfig(SearchConfig(simulations=4, noise=True)))
    versions = [[r.version for r in batch] for batch in batches]
    assert versions == [[1, 1], [2, 2], [2, 2], [2, 2], [2, 2]]
    assert (stats.reloads, stats.refused, stats.games) == (2, 1, 10)
    assert all(r.worker == "w0" for batch in batches for r in batch)


def test_the_network_is_told_who_is_to_move():
    """Connect Four's observation tensor reads the same for both players; the value is
    the player to move's, so the input ends with who that is."""
    import pyspiel

    from ratchet.plugins.targets.selfplay.mcts import observation

    state = pyspiel.load_game("connect_four").new_initial_state()
    first, _ = observation(state, 7)
    state.apply_action(3)
    second, legal = observation(state, 7)
    assert list(first[-2:]) == [1, 0] and list(second[-2:]) == [0, 1]
    assert len(second) == game_info("connect_four").observation_size and legal.all()


def test_games_in_play_on_a_lost_worker_are_counted_lost_and_nothing_else():
    from ratchet.plugins.targets.selfplay.worker import InFlight

    flight = InFlight()
    flight.message({"playing": 8, "worker": "w0-a", "index": 0})
    flight.message({"playing": 8, "worker": "w1-a", "index": 1})
    flight.message({"games": [{}] * 8, "worker": "w0-a", "index": 0})  # handed over
    flight.message({"playing": 8, "worker": "w0-a", "index": 0})
    assert flight.lost == 0
    flight.message({"playing": 8, "worker": "w0-b", "index": 0})  # w0-a was lost in play
    assert flight.lost == 8
    flight.message({"playing": 8, "worker": "w1-b", "index": 1})  # so was w1-a...
    flight.message({"games": [{}] * 8, "worker": "w1-a", "index": 1})  # ...but it delivered
    assert flight.lost == 8
    flight.message({"worker_lost": 1})  # the executor found w1-b dead with 8 in play
    assert flight.lost == 16


def test_the_games_of_a_match_are_independent_samples_not_replays():
    """Network players with search are deterministic given the position: without sampled
    plies a match replays a few games per opening; with them every game is new."""
    from ratchet.plugins.targets.selfplay.match import NetworkPlayer, play_pairs

    game, info = pyspiel.load_game("connect_four"), game_info("connect_four")
    nets = [new_network(info, hidden=8, blocks=0, seed=s) for s in (1, 2)]

    def match(sampled_plies):
        results = []
        for batch in range(3):  # a test's batches: a seed each
            a, b = (NetworkPlayer(name, net, 7, SearchConfig(simulations=4),
                                  seed=batch * 2 + i, sampled_plies=sampled_plies)
                    for i, (name, net) in enumerate(zip("ab", nets, strict=True)))
            results += play_pairs(game, a, b, 12, seed=100 + batch)
        return results

    replayed = match(0)
    assert len({r.moves for r in replayed}) < len(replayed)  # what the sampling prevents
    sampled = match(8)
    assert len({r.moves for r in sampled}) == len(sampled) == 72
    pair_scores = {(a.score + 1 - b.score) / 2 for a, b in zip(sampled[::2], sampled[1::2],
                                                                strict=True)}
    assert len(pair_scores) >= 2  # a spread of pair results, not one fixed outcome


@pytest.mark.slow
def test_probation_reverts_a_weaker_player_and_keeps_an_equal_one():
    """The probation rule on fresh games: plain MCTS with 4 simulations against its
    predecessor with 32 is reverted; the same player against itself is kept."""
    from types import SimpleNamespace

    from ratchet.core.seeds import derive
    from ratchet.plugins.targets.selfplay.match import NetworkPlayer
    from ratchet.plugins.targets.selfplay.mcts import uniform_evaluator
    from ratchet.plugins.targets.selfplay.probation import ProbationRule, probation_test

    game = pyspiel.load_game("connect_four")
    plain = SimpleNamespace(evaluate=uniform_evaluator)

    def probation(simulations, trial):
        def seed(batch):
            return derive(trial, "probation", 1, batch)[0]
        champion, predecessor = (
            NetworkPlayer(name, plain, 7, SearchConfig(simulations=sims), seed=seed(99 + i),
                          sampled_plies=8)
            for i, (name, sims) in enumerate((("new", simulations), ("old", 32))))
        return probation_test(game, champion, predecessor, ProbationRule(max_games=200),
                              seed)

    weaker = probation(4, trial=1)
    assert weaker.revert and weaker.reason.startswith("worse than its predecessor")
    equal = probation(32, trial=2)
    assert not equal.revert and "not shown worse" in equal.reason
    assert len({g.moves for g in equal.games}) == len(equal.games)  # fresh games each
