"""The SSM policy: shapes, sequence mode == step mode, save/load round trip."""

import json

import pytest
import torch

from ratchet.core.errors import RatchetError
from ratchet.plugins.targets.cartpole.checkpoint import load_policy, save_policy
from ratchet.plugins.targets.cartpole.ssm import Arch, SSMPolicy, policy_input


@pytest.mark.parametrize("arch", [Arch(), Arch(state_dim=8, hidden_dim=16, layers=3)])
def test_shapes(arch):
    model = SSMPolicy(arch)
    x = torch.randn(3, 17, arch.input_dim)
    logits, values, state = model(x)
    assert logits.shape == (3, 17, arch.n_actions) and values.shape == (3, 17)
    assert len(state) == arch.layers and state[0].shape == (3, arch.state_dim)
    decay = model.ssms[0].decay()
    assert ((decay > 0) & (decay < arch.max_decay)).all()  # stable by construction


def test_decays_stay_under_the_cap_however_far_training_pushes_them():
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16, max_decay=0.9))
    with torch.no_grad():
        model.ssms[0].nu.fill_(-30.0)  # exp(-exp(nu)) rounds to 1
    assert torch.allclose(model.ssms[0].decay(), torch.full((8,), 0.9))


@pytest.mark.parametrize("layers,previous_step", [(1, True), (2, True), (1, False)])
def test_sequence_mode_equals_step_mode(layers, previous_step):
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=16, hidden_dim=32, layers=layers,
                           previous_step=previous_step))
    x = torch.randn(2, 300, model.arch.input_dim)
    start = [torch.randn(2, 16) for _ in range(layers)]  # a carried-over hidden state
    with torch.no_grad():
        seq_logits, seq_values, seq_state = model(x, start)
        state, step_logits, step_values = start, [], []
        for t in range(x.shape[1]):
            logits, values, state = model.step(x[:, t], state)
            step_logits.append(logits)
            step_values.append(values)
    torch.testing.assert_close(seq_logits, torch.stack(step_logits, 1), atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(seq_values, torch.stack(step_values, 1), atol=2e-4, rtol=1e-4)
    for a, b in zip(seq_state, state, strict=True):
        torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4)


def test_resets_in_sequence_mode_equal_zeroing_the_state_in_step_mode():
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16, layers=2))
    x = torch.randn(2, 120, model.arch.input_dim)
    resets = torch.zeros(2, 120)
    resets[0, [0, 40, 41, 90]] = 1.0  # at the start, twice in a row, later
    resets[1, 77] = 1.0
    start = [torch.randn(2, 8) for _ in range(2)]
    with torch.no_grad():
        seq_logits, _, seq_state = model(x, start, resets)
        state, step_logits = start, []
        for t in range(120):
            keep = (1 - resets[:, t]).unsqueeze(-1)
            logits, _, state = model.step(x[:, t], [h * keep for h in state])
            step_logits.append(logits)
    torch.testing.assert_close(seq_logits, torch.stack(step_logits, 1), atol=2e-4, rtol=1e-4)
    for a, b in zip(seq_state, state, strict=True):
        torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4)


def test_policy_input_marks_the_first_step():
    obs = torch.zeros(2, 4)
    x = policy_input(obs, torch.tensor([-1, 1]), torch.tensor([0.0, 1.0]), 2)
    assert x.tolist() == [[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 1]]


def test_a_saved_policy_loads_exactly_what_was_saved(tmp_path):
    torch.manual_seed(1)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16, layers=2))
    path = save_policy(model, tmp_path / "policy", {"note": "test"})
    loaded, meta = load_policy(path)
    assert meta == {"note": "test"} and loaded.arch == model.arch
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items(),
                                strict=True):
        assert k == k2 and torch.equal(v, v2)
    x = torch.randn(1, 20, model.arch.input_dim)
    torch.testing.assert_close(model(x)[0], loaded(x)[0])


def test_a_policy_saved_before_the_decay_cap_and_the_previous_step_flag_loads_as_it_was(
        tmp_path):
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16, max_decay=1.0))
    path = save_policy(model, tmp_path / "old")
    info = json.loads(path.with_suffix(".json").read_text())
    del info["arch"]["max_decay"], info["arch"]["previous_step"]
    path.with_suffix(".json").write_text(json.dumps(info))
    loaded, _ = load_policy(path)
    assert loaded.arch.max_decay == 1.0 and loaded.arch.previous_step is True
    torch.testing.assert_close(loaded.ssms[0].decay(), model.ssms[0].decay())


def test_a_policy_that_does_not_read_the_previous_step_ignores_it_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = SSMPolicy(Arch(state_dim=8, hidden_dim=16, previous_step=False))
    assert model.encoder.in_features == 4
    x = torch.randn(2, 30, model.arch.input_dim)
    other = x.clone()
    other[..., 4:] = torch.randn(2, 30, model.arch.input_dim - 4)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], model(other)[0])
    loaded, _ = load_policy(save_policy(model, tmp_path / "p"))
    assert loaded.arch.previous_step is False
    torch.testing.assert_close(loaded(x)[0], model(x)[0])


def test_loading_garbage_is_a_clear_error(tmp_path):
    with pytest.raises(RatchetError, match="no saved policy"):
        load_policy(tmp_path / "absent")
    (tmp_path / "bad.safetensors").write_bytes(b"not tensors")
    (tmp_path / "bad.json").write_text('{"format": 1, "arch": {}}')
    with pytest.raises(RatchetError, match="not a ratchet policy"):
        load_policy(tmp_path / "bad")
