"""MAPPO / IPPO (marl_baselines/algos/ppo.py): action sampling, the loss, value normalisation, GAE,
checkpoints and the command line, on small runs (the learning tests are in test_learning_ppo.py)."""

from __future__ import annotations

import csv
import math

import helpers
import pytest
import torch

from marl_baselines.algos import ALGORITHMS
from marl_baselines.algos.ppo import PPO, PPOConfig, ppo_loss
from marl_baselines.buffers import RolloutBuffer, episode_ended
from marl_baselines.cli import main
from marl_baselines.normalization import RunningMeanStd
from marl_baselines.train import train
from marl_baselines.vec import make_vec_env


def quiet_run(tmp_path, **kwargs):
    return helpers.quiet_run(tmp_path, **{"eval_episodes": 4, **kwargs})


def test_registered():
    assert ALGORITHMS["mappo"].config_class is PPOConfig and ALGORITHMS["ippo"].config_class is PPOConfig
    assert not ALGORITHMS["mappo"].discrete_only and not ALGORITHMS["ippo"].discrete_only


# ---------------------------------------------------------------- acting
def test_masked_categorical_never_samples_illegal_actions():
    env = make_vec_env("goal_grid_v0", 64)
    algo = PPO(env, PPOConfig(), "state", seed=0)
    out = env.reset(seed=0)
    generator = torch.Generator().manual_seed(1)
    for _ in range(50):
        mask = torch.rand(64, env.n_agents, env.action_size, generator=generator) < 0.4
        mask[..., 0] |= ~mask.any(-1)  # at least one legal action per agent
        masked = out._replace(action_mask=mask)
        actions, _, act_info = algo.act(masked, None, explore=True)
        assert mask.gather(-1, actions[..., None]).all()
        greedy, _, _ = algo.act(masked, None, explore=False)
        assert mask.gather(-1, greedy[..., None]).all()
        assert torch.isfinite(act_info["log_prob"]).all()
    # an illegal action has probability 0; the entropy counts legal actions only
    output = algo._logits_or_mean(out.obs, masked.action_mask)
    log_prob, entropy = algo.log_prob_entropy(output, torch.zeros(64, env.n_agents, dtype=torch.int64))
    assert (log_prob[~masked.action_mask[..., 0]] == float("-inf")).all()
    assert (entropy <= torch.log(masked.action_mask.sum(-1).float()) + 1e-5).all()


def test_entropy_gradient_is_finite_with_masked_actions():
    """A masked action's log-probability is -inf; the entropy's gradient must not turn it into NaN (0 * -inf)."""
    env = make_vec_env("goal_grid_v0", 8)
    algo = PPO(env, PPOConfig(), "state", seed=0)
    out = env.reset(seed=0)
    mask = torch.ones(8, env.n_agents, env.action_size, dtype=torch.bool)
    mask[..., -1] = False
    output = algo._logits_or_mean(out.obs, mask)
    log_prob, entropy = algo.log_prob_entropy(output, torch.zeros(8, env.n_agents, dtype=torch.int64))
    (log_prob.sum() + entropy.sum()).backward()
    assert all(torch.isfinite(p.grad).all() for p in algo.actor.parameters() if p.grad is not None)


@pytest.mark.parametrize("env", ["poker_v0", "speaker_listener_v0"], ids=["env masks", "padding masks"])
def test_mappo_trains_with_action_masks(tmp_path, env):
    """poker_v0 masks illegal actions; speaker_listener_v0's speaker has 3 actions and the listener 5, so
    the VecEnv masks the speaker's padding. Training through either keeps losses and weights finite
    (every sampled action is legal: the envs refuse illegal ones)."""
    result = train(
        "mappo",
        env,
        quiet_run(tmp_path, total_steps=512, num_envs=8, eval_episodes=2, eval_interval=256),
        PPOConfig(rollout_steps=16, minibatches=2),
    )
    assert result.env_steps == 512 and math.isfinite(result.final["return"])
    with open(result.run_dir / "train.csv") as file:
        rows = list(csv.DictReader(file))
    assert rows and all(math.isfinite(float(row[key])) for row in rows for key in ("policy_loss", "value_loss", "entropy")), rows
    state = torch.load(result.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert all(torch.isfinite(v).all() for v in state["actor"].values() if v.is_floating_point())


def test_continuous_actions_stay_within_the_bounds():
    env = make_vec_env("coordination_v0", 32)
    algo = PPO(env, PPOConfig(log_std_init=1.5), "obs", seed=0)  # std 4.5 on a [-1, 1] box: most samples fall outside
    out = env.reset(seed=0)
    outside = 0
    for _ in range(20):
        actions, _, act_info = algo.act(out, None, explore=True)
        assert ((actions >= env.action_low) & (actions <= env.action_high)).all()
        raw = act_info["sample"]
        outside += int(((raw < env.action_low) | (raw > env.action_high)).sum())
        assert torch.equal(actions, raw.clamp(env.action_low, env.action_high))
        out = env.step(actions)  # the env accepts them (it raises on out-of-range actions)
    assert outside > 0  # the clipping was exercised
    greedy, _, _ = algo.act(out, None, explore=False)
    assert ((greedy >= env.action_low) & (greedy <= env.action_high)).all()


def test_gaussian_log_prob_matches_torch_distributions():
    env = make_vec_env("coordination_v0", 4)
    algo = PPO(env, PPOConfig(log_std_init=-0.3), "obs", seed=0)
    mean = torch.randn(4, env.n_agents, env.action_size)
    actions = torch.randn(4, env.n_agents, env.action_size)
    log_prob, entropy = algo.log_prob_entropy(mean, actions)
    normal = torch.distributions.Normal(mean, math.exp(-0.3))
    torch.testing.assert_close(log_prob, normal.log_prob(actions).sum(-1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(entropy, normal.entropy().sum(-1), atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- recurrent actors
def _collect(algo, env, steps, seed=0):
    """Act and observe like the training loop (hidden reset where an episode ended); returns the
    logits ``act`` computed at every step, ``[steps, B, N, A]``."""
    out = env.reset(seed=seed)
    algo.start(out)
    hidden = algo.initial_hidden(env.num_envs)
    logits = []
    for _ in range(steps):
        logits.append(algo.actor(out.obs, hidden)[0])
        actions, hidden, act_info = algo.act(out, hidden, explore=True)
        after = env.step(actions)
        assert algo.observe(out, actions, act_info, after, 0) is None  # the rollout is not full yet: no training
        out = after
        hidden = hidden.masked_fill(episode_ended(out)[:, None, None], 0.0)
    return torch.stack(logits)


def test_recurrent_forward_over_the_rollout_equals_step_by_step_acting():
    """Training re-runs the GRU over each env's rollout from the hidden state stored at step 0,
    restarting where episodes began: it must give the logits acting gave, step for step."""
    env = make_vec_env("target_grid_v0", 4, max_cycles=5, view_radius=1)
    algo = PPO(env, PPOConfig(recurrent=True, rollout_steps=16, minibatches=2), "state", seed=0)
    with torch.no_grad():
        algo.actor.output.weight.mul_(100)  # logits of order 1 (the policy head starts near zero)
    acted = _collect(algo, env, 15)  # episodes end at steps 5 and 10: two restarts inside the rollout
    starts = algo.episode_starts()[:15]
    assert starts[5].all() and starts[10].all() and not starts[1:5].any()
    data = {name: tensor[:15] for name, tensor in algo.buffer.extra.items()}
    replayed = algo.policy_output({**data, "starts": starts})
    torch.testing.assert_close(replayed, acted, rtol=1e-5, atol=1e-5)
    # the restarts matter: without them the replay drifts from what was acted after step 5
    ignored = algo.policy_output({**data, "starts": torch.zeros_like(starts)})
    torch.testing.assert_close(ignored[:5], acted[:5], rtol=1e-5, atol=1e-5)
    assert (ignored[5:] - acted[5:]).abs().max() > 0.05
    # the hidden state is stored for every step, zero exactly where an episode began
    assert (data["hidden"][5] == 0).all() and (data["hidden"][10] == 0).all() and (data["hidden"][4] != 0).any()


def test_recurrent_actor_remembers_and_starts_each_episode_afresh():
    env = make_vec_env("target_grid_v0", 2, view_radius=1)
    algo = PPO(env, PPOConfig(recurrent=True, minibatches=2), "state", seed=0)
    out = env.reset(seed=0)
    zero = algo.initial_hidden(2)
    assert zero.shape == (2, env.n_agents, 64) and (zero == 0).all()
    first, hidden, _ = algo.act(out, zero, explore=False)
    assert hidden.shape == zero.shape and (hidden != 0).any()
    # the same observation from another hidden state gives other logits: the actor has memory
    assert not torch.allclose(algo.actor(out.obs, hidden)[0], algo.actor(out.obs, zero)[0])
    # an episode start (hidden reset to zeros, as the training loop does) acts as from scratch
    again, _, _ = algo.act(out, hidden.masked_fill(torch.ones(2, 1, 1, dtype=torch.bool), 0.0), explore=False)
    assert torch.equal(again, first)
    # feed-forward actors carry no state
    assert PPO(env, PPOConfig(minibatches=2), "state", seed=0).initial_hidden(2) is None


def test_recurrent_minibatches_split_over_envs():
    env = make_vec_env("goal_grid_v0", 2)
    with pytest.raises(ValueError, match="minibatches=4 exceeds num_envs=2: with recurrent=True"):
        PPO(env, PPOConfig(recurrent=True, minibatches=4), "state")
    algo = PPO(env, PPOConfig(recurrent=True, rollout_steps=8, minibatches=2, epochs=1), "state", seed=0)
    out = env.reset(seed=0)
    algo.start(out)
    hidden = algo.initial_hidden(2)
    sizes = []
    original = algo.loss

    def loss(batch):
        sizes.append(tuple(batch["obs"].shape[:2]))
        return original(batch)

    algo.loss = loss
    stats = None
    for _ in range(8):
        actions, hidden, act_info = algo.act(out, hidden, explore=True)
        after = env.step(actions)
        stats = algo.observe(out, actions, act_info, after, 0)
        out = after
    assert stats is not None and math.isfinite(stats["policy_loss"])
    assert sizes == [(8, 1), (8, 1)]  # two minibatches, each one env's whole 8-step sequence


# ---------------------------------------------------------------- the loss
def _loss(
    log_prob,
    old_log_prob,
    advantages,
    values,
    old_values,
    targets,
    weight=None,
    clip=0.2,
    value_clip=0.2,
    value_coef=0.5,
    entropy_coef=0.0,
    entropy=None,
):
    t = lambda x: torch.tensor(x, dtype=torch.float32)  # noqa: E731
    log_prob = t(log_prob).requires_grad_(True)
    weight = t(weight) if weight is not None else torch.ones_like(log_prob)
    entropy = t(entropy) if entropy is not None else torch.zeros_like(log_prob)
    loss, stats = ppo_loss(
        log_prob,
        t(old_log_prob),
        t(advantages),
        t(values),
        t(old_values),
        t(targets),
        entropy,
        weight,
        clip,
        value_clip,
        value_coef,
        entropy_coef,
    )
    return loss, stats, log_prob


def test_policy_loss_clipping_active_and_inactive():
    r = math.log(1.5)  # ratio 1.5, outside [0.8, 1.2]
    # positive advantage, ratio above 1 + clip: the clipped term (1.2 * A) is the minimum, no gradient
    loss, stats, log_prob = _loss([r], [0.0], [2.0], [0.0], [0.0], [0.0])
    assert float(stats["policy_loss"]) == pytest.approx(-1.2 * 2.0)
    loss.backward()
    assert float(log_prob.grad) == 0.0 and float(stats["clip_fraction"]) == 1.0
    # negative advantage, same ratio: the unclipped term (1.5 * A) is the minimum, the gradient flows
    loss, stats, log_prob = _loss([r], [0.0], [-2.0], [0.0], [0.0], [0.0])
    assert float(stats["policy_loss"]) == pytest.approx(1.5 * 2.0)
    loss.backward()
    assert float(log_prob.grad) == pytest.approx(1.5 * 2.0)  # d(-ratio * A)/d log_prob = -ratio * A
    # ratio inside the range: plain ratio * A
    loss, stats, log_prob = _loss([math.log(0.9)], [0.0], [1.0], [0.0], [0.0], [0.0])
    assert float(stats["policy_loss"]) == pytest.approx(-0.9) and float(stats["clip_fraction"]) == 0.0
    assert float(stats["approx_kl"]) == pytest.approx(-0.1 - math.log(0.9), rel=1e-4)


def test_value_loss_clipping_and_masking():
    # the prediction moved 1.0 from the old one towards the target: the clipped prediction (0.2) errs by 0.8
    _, stats, _ = _loss([0.0], [0.0], [0.0], [1.0], [0.0], [1.0])
    assert float(stats["value_loss"]) == pytest.approx(0.5 * 0.8**2)
    # clipping off: the unclipped error, 0
    _, stats, _ = _loss([0.0], [0.0], [0.0], [1.0], [0.0], [1.0], value_clip=0.0)
    assert float(stats["value_loss"]) == 0.0
    # clipping inactive: the prediction moved only 0.1, so both errors agree
    _, stats, _ = _loss([0.0], [0.0], [0.0], [0.1], [0.0], [1.0])
    assert float(stats["value_loss"]) == pytest.approx(0.5 * 0.9**2)
    # the total: policy + value_coef * value - entropy_coef * entropy; entries with weight 0 count for nothing
    loss, stats, _ = _loss(
        [0.0, 5.0],
        [0.0, 0.0],
        [1.0, 100.0],
        [0.5, 50.0],
        [0.5, 0.0],
        [1.5, -9.0],
        weight=[1.0, 0.0],
        value_coef=0.5,
        entropy_coef=0.1,
        entropy=[2.0, 40.0],
    )
    assert float(stats["policy_loss"]) == pytest.approx(-1.0)
    assert float(stats["value_loss"]) == pytest.approx(0.5)
    assert float(stats["entropy"]) == pytest.approx(2.0)
    assert float(loss.detach()) == pytest.approx(-1.0 + 0.5 * 0.5 - 0.1 * 2.0)


# ---------------------------------------------------------------- value normalisation and GAE
def test_value_normaliser_tracks_mean_and_std_of_everything_seen():
    norm = RunningMeanStd()
    generator = torch.Generator().manual_seed(0)
    chunks = [torch.randn(n, generator=generator) * 3 + 7 for n in (5, 50, 1, 200)]
    for chunk in chunks:
        norm.update(chunk)
    everything = torch.cat(chunks).double()
    assert float(norm.mean) == pytest.approx(float(everything.mean()), rel=1e-9)
    assert float(norm.std) == pytest.approx(float(everything.std(unbiased=False)), rel=1e-9)
    x = torch.randn(10, generator=generator)
    torch.testing.assert_close(norm.denormalize(norm.normalize(x)), x)
    assert norm.normalize(x).dtype == torch.float32
    constant = RunningMeanStd()
    constant.update(torch.full((10,), 4.0))
    assert torch.isfinite(constant.normalize(torch.tensor([4.0, 5.0]))).all()


def test_gae_bootstraps_a_truncation_with_the_final_value_and_not_a_termination():
    buffer = RolloutBuffer(4, 1, 1, extra={"alive": ((1, 1), torch.bool)})
    one, no, yes = torch.ones(1, 1), torch.zeros(1, 1, dtype=torch.bool), torch.ones(1, 1, dtype=torch.bool)
    alive = torch.ones(1, 1, dtype=torch.bool)
    # episode 1: two steps, truncated; V(final_obs) = 5. Episode 2: terminates at its 2nd step (final value ignored).
    buffer.add(one, one, 2 * one, no, no, alive=alive)
    buffer.add(2 * one, one, 5 * one, no, yes, alive=alive)
    buffer.add(one, 0 * one, 3 * one, no, no, alive=alive)
    buffer.add(3 * one, 4 * one, 100 * one, yes, no, alive=alive)
    assert buffer.full
    advantages, returns = buffer.advantages(gamma=0.5, lam=1.0)
    # step 1: 1 + 0.5 * 5 - 2 = 1.5 (bootstrap from the final value, and no recursion past the end)
    # step 0: 1 + 0.5 * 2 - 1 = 1, plus 0.5 * 1.5 = 1.75; step 3: 4 - 3 = 1; step 2: 0 + 1.5 - 1 + 0.5 = 1.0
    assert advantages.flatten().tolist() == [1.75, 1.5, 1.0, 1.0]
    assert returns.flatten().tolist() == [2.75, 3.5, 2.0, 4.0]
    state = buffer.state_dict()
    copy = RolloutBuffer(4, 1, 1, extra={"alive": ((1, 1), torch.bool)})
    copy.load_state_dict(state)
    assert copy.position == 4 and torch.equal(copy.advantages(0.5, 1.0)[0], advantages)
    with pytest.raises(ValueError, match="full"):
        buffer.add(one, one, one, no, no, alive=alive)


def test_observe_stores_the_value_of_the_final_observation():
    env = make_vec_env("goal_grid_v0", 2, max_cycles=3)
    algo = PPO(env, PPOConfig(rollout_steps=8, minibatches=1), "obs", seed=0)
    out = env.reset(seed=0)
    algo.start(out)
    for _ in range(3):
        actions, _, act_info = algo.act(out, None, explore=True)
        after = env.step(actions)
        algo.observe(out, actions, act_info, after, 0)
        out = after
    assert out.truncated.all()  # the episodes were cut at step 3 and reset in the same step
    expected = algo.values(out.final_obs, out.final_state)
    torch.testing.assert_close(algo.buffer.final_value[2], expected)
    assert not torch.allclose(algo.values(out.obs, out.state), expected)  # not the next episode's first observation


# ---------------------------------------------------------------- the training loop
@pytest.mark.parametrize(
    "algo, env, env_kwargs, recurrent",
    [
        ("mappo", "goal_grid_v0", {}, False),
        ("ippo", "coordination_v0", {}, False),
        ("mappo", "target_grid_v0", {"max_cycles": 10, "view_radius": 1}, True),
    ],
)
def test_resume_continues_exactly(tmp_path, algo, env, env_kwargs, recurrent):
    config = dict(
        rollout_steps=24, minibatches=3, epochs=2, recurrent=recurrent
    )  # 24 x 4 = 96 sub-env steps a rollout: 1200 stops mid-rollout
    run = dict(num_envs=4, seed=3)
    first = train(algo, env, quiet_run(tmp_path / "a", total_steps=1200, **run), PPOConfig(**config), env_kwargs)
    resumed = train(algo, env, quiet_run(tmp_path / "a", total_steps=2400, **run), PPOConfig(**config), env_kwargs, resume=first.run_dir)
    whole = train(algo, env, quiet_run(tmp_path / "b", total_steps=2400, **run), PPOConfig(**config), env_kwargs)
    assert resumed.env_steps == whole.env_steps == 2400
    a = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    b = torch.load(whole.run_dir / "checkpoint.pt", weights_only=False)["algo"]
    assert a["updates"] == b["updates"] == 2400 // 96
    for net in ("actor", "critic", "value_norm"):
        for name in a[net]:
            torch.testing.assert_close(a[net][name], b[net][name], rtol=0, atol=0)
    if a["log_std"] is not None:
        torch.testing.assert_close(a["log_std"], b["log_std"], rtol=0, atol=0)
    assert a["buffer"]["position"] == b["buffer"]["position"] == (2400 % 96) // 4
    assert resumed.final["return"] == whole.final["return"]


def test_bad_configuration_fails_before_training(tmp_path):
    for config, message in [
        (PPOConfig(rollout_steps=0), "rollout_steps must be >= 1, got 0"),
        (PPOConfig(minibatches=0), "minibatches must be >= 1"),
        (PPOConfig(clip=-0.1), "clip must be >= 0"),
        (PPOConfig(gamma=1.5), "gamma must lie in \\[0, 1\\]"),
        (PPOConfig(gae_lambda=-1), "gae_lambda must lie in \\[0, 1\\]"),
        (PPOConfig(lr=-1), "lr must be >= 0"),
        (PPOConfig(adam_eps=0), "adam_eps must be > 0"),
        (PPOConfig(log_std_init=float("nan")), "log_std_init must be finite"),
        (PPOConfig(rollout_steps=2, minibatches=9), "minibatches=9 exceeds the rollout's 8 samples"),
    ]:
        with pytest.raises(ValueError, match=message):
            train("mappo", "goal_grid_v0", quiet_run(tmp_path, num_envs=4), config)
    with pytest.raises(ValueError, match="critic must be one of"):
        PPO(make_vec_env("goal_grid_v0", 2), PPOConfig(), "mixer")
    assert not any(tmp_path.iterdir())  # nothing was started


def test_marl_train_mappo_runs_from_the_command_line(tmp_path, capsys):
    status = main(
        [
            "mappo",
            "goal_grid_v0",
            "--total-steps",
            "256",
            "--num-envs",
            "4",
            "--rollout-steps",
            "16",
            "--minibatches",
            "2",
            "--eval-episodes",
            "4",
            "--log-dir",
            str(tmp_path),
            "--progress",
            "false",
            "--tensorboard",
            "false",
        ]
    )
    assert status == 0
    assert "| algorithm      | mappo |" in capsys.readouterr().out
    (run_dir,) = (tmp_path / "goal_grid_v0" / "mappo").iterdir()
    rows = (run_dir / "eval.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("256,")  # header and the final evaluation
    assert torch.load(run_dir / "checkpoint.pt", weights_only=False)["algo"]["updates"] == 4  # 256 / (16 x 4)


def test_marl_train_help_lists_ppo_options(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "mappo" in text and "ippo" in text and "--rollout-steps" in text and "--gae-lambda" in text


def test_learning_rate_anneals_linearly_to_zero_over_lr_anneal_steps():
    """Each update sets Adam's rate to lr * (1 - env_steps / lr_anneal_steps), 0 past the end; 0 keeps it constant."""
    env = make_vec_env("cooperative_navigation_v0", 4, "cpu", continuous_actions=False)
    for anneal, expected in ((0, [1e-3, 1e-3, 1e-3]), (64, [0.75e-3, 0.5e-3, 0.25e-3]), (32, [0.5e-3, 0.0, 0.0])):
        algo = PPO(env, PPOConfig(rollout_steps=4, epochs=1, minibatches=1, lr=1e-3, lr_anneal_steps=anneal), "state", seed=0)
        out = env.reset(seed=0)
        algo.start(out)
        rates, env_steps = [], 0
        while len(rates) < 3:  # rollouts of 4 x 4 env steps: updates at 16, 32 and 48 env steps
            actions, _, act_info = algo.act(out, None, explore=True)
            after = env.step(actions)
            env_steps += env.num_envs
            stats = algo.observe(out, actions, act_info, after, env_steps)
            out = after
            if stats is not None:
                rates.append(stats["lr"])
        assert rates == pytest.approx(expected), anneal
        assert algo.optimizer.param_groups[0]["lr"] == pytest.approx(expected[-1])
