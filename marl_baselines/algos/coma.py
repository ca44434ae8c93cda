"""COMA: counterfactual multi-agent policy gradients (Foerster, Farquhar, Afouras, Nardelli and
Whiteson, 2018), for discrete actions.

Decentralised actors pi_a(u^a | o^a) (any agent network, recurrent or not, parameters shared by
default) and one centralised critic that, for agent a, takes the global state, agent a's
observation and the other agents' actions and returns a value for *every* action of agent a:

    Q(s, (u^-a, .)) = critic(s, o^a, onehot(u^-a), id_a)  in R^|A|

(agent a's own action is zeroed out of the joint-action input, so one pass gives all its
counterfactual actions; the critic's output layer starts near zero, so no own action starts out
preferred). The actor's advantage is the counterfactual one:

    A^a(s, u) = Q(s, u) - sum_{u'} pi_a(u' | o^a) Q(s, (u^-a, u'))

which marginalises agent a's own action with its policy while keeping the others' fixed, so it
credits agent a alone for the team's reward. The actor's loss is -mean log pi_a(u^a | o^a) A^a
(:func:`~marl_baselines.algos.a2c.a2c_loss`, the advantage held constant), with an entropy bonus.

The critic is trained on TD(lambda) targets of a *target* critic Q^- (a copy, refreshed every
``target_update_interval`` updates):

    G_t = r_t + gamma * ((1 - lambda) * Q^-(s_{t+1}, u_{t+1}) + lambda * G_{t+1})

with loss 0.5 * (Q(s_t, u_t) - G_t)^2 on the taken joint action. These are the GAE returns of
:class:`~marl_baselines.buffers.RolloutBuffer` with V(x_t) replaced by Q^-(s_t, u_t) (``gae_lambda``
is lambda): ``step_values`` stores Q^-(s_t, u_t) as each step is acted, and before training the
bootstrap after each step is set to the next stored step's Q^-(s_{t+1}, u_{t+1}) wherever the
episode went on. After the rollout's last step, and after a truncation (where no next action was
taken), the bootstrap is the expectation sum_{u'} pi_a(u' | o'^a) Q^-(s', (u~^-a, u')) over agent
a's own action, with the others' actions u~ sampled from the current policy at the final
observation; a termination bootstraps nothing.

One rollout gives one gradient step of the actor and the critic together (one Adam, as A2C's); the
advantages use the critic's Q-values of the same pass, before its step, held constant. Everything
else (rollouts, acting, value normalisation, advantage standardisation, curiosity, checkpoints)
is A2C's and PPO's (:mod:`marl_baselines.algos.ppo`).

Relation to EPyMARL's ``coma`` (its ``COMALearner`` and ``COMACritic``), and departures:

* EPyMARL's critic input is the state, the agent's observation, the others' actions, every
  agent's previous actions and the agent id; ours leaves out the previous actions. (The paper's
  critic reads the state and the joint action; without the agent's observation, a critic of
  target_grid_v0's state, raw coordinates, did not learn which of an agent's moves is better, and
  neither did the actors.)
* EPyMARL trains on whole episodes (so it never bootstraps past an episode's last step) and takes
  several critic steps per batch, one per time step going backwards, with a separate optimiser;
  ours trains on fixed-length rollouts with the expected bootstrap above at the rollout's end and
  at truncations, and one step of a shared Adam. The critic predicts normalised values
  (``normalize_values``), so the advantage is in units of the return's running std before it is
  standardised (``normalize_advantages``, which EPyMARL does not do).
* Where an episode ended, the legal actions of its final observation are not reported (the env's
  ``action_mask`` is that of the next episode's first observation), so the bootstrap's policy
  there is unmasked.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from marl_baselines.algos.a2c import A2C, a2c_loss
from marl_baselines.algos.ppo import ActorCriticOptions, normalized_advantages
from marl_baselines.buffers import episode_ended
from marl_baselines.config import check_ranges
from marl_baselines.distributed import DataParallelParts
from marl_baselines.nets import AgentNetwork, one_hot
from marl_envs import EnvStep

__all__ = ["COMAConfig", "COMA", "counterfactual_advantage", "joint_action_inputs", "next_step_bootstrap"]


@dataclass
class COMAConfig(ActorCriticOptions):
    """Hyper-parameters of COMA: A2C's for discrete actions (no Gaussian policy's), with the critic's
    target network."""

    gae_lambda: float = 0.8
    """Lambda of the critic's TD(lambda) targets (the actor's advantage is the counterfactual one, not GAE's)."""
    target_update_interval: int = 20
    """Updates (rollouts) between copies of the critic into the target critic that gives the TD(lambda) targets."""

    def check(self) -> None:
        super().check()
        check_ranges(self, at_least_one=("target_update_interval",))


def joint_action_inputs(state: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor, n_actions: int) -> torch.Tensor:
    """The critic's input for every agent: ``state [..., S]``, ``obs [..., N, O]`` and ``actions [..., N]``
    (indices) to ``[..., N, S + O + N * n_actions]``: the state, agent a's observation, then every
    agent's one-hot action with agent a's own zeroed in row a."""
    N = actions.shape[-1]
    joint = one_hot(actions, n_actions).flatten(-2)  # [..., N * A]
    others = (1 - torch.eye(N, device=actions.device)).repeat_interleave(n_actions, -1)  # [N, N * A]
    rows = joint.unsqueeze(-2) * others
    return torch.cat((state.unsqueeze(-2).expand(*state.shape[:-1], N, state.shape[-1]), obs, rows), -1)


def counterfactual_advantage(q: torch.Tensor, probs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """COMA's advantage ``[..., N]``: Q(s, u)[u^a] - sum_u' pi_a(u') Q(s, (u^-a, u')), from the critic's
    values of every own action ``q [..., N, A]``, the policy ``probs [..., N, A]`` and ``actions [..., N]``."""
    taken = q.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    return taken - (probs * q).sum(-1)


def next_step_bootstrap(value: torch.Tensor, final_value: torch.Tensor, ended: torch.Tensor) -> torch.Tensor:
    """The bootstrap after each rollout step ``[T, ...]`` for TD(lambda) on Q: the next step's stored
    ``value`` (Q^-(s_{t+1}, u_{t+1})) where step t did not end the agent's episode, else (and after
    the last step) ``final_value`` as stored (the expected bootstrap; masked out where terminated)."""
    result = final_value.clone()
    result[:-1] = torch.where(ended[:-1], final_value[:-1], value[1:])
    return result


class COMA(A2C):
    """COMA for a ``VecEnv`` with discrete actions (the registry's spec refuses others)."""

    def __init__(self, env, config: COMAConfig, seed: int = 0):
        self.n_actions = env.action_size
        super().__init__(env, config, "state", seed)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)

    def build_critic(self, env) -> nn.Module:
        """Q(s, (u^-a, .)): the state, the agent's observation and the others' one-hot actions to one
        value per own action (an MLP, shared by the agents with their ids unless share_parameters=False)."""
        c, N = self.config, self.n_agents
        critic = AgentNetwork(
            env.state_size + env.obs_size + N * self.n_actions, self.n_actions, N, c.hidden_size, False, c.share_parameters, c.agent_id
        )
        with torch.no_grad():  # every own action starts with nearly the same value: no early preference for any
            critic.output.weight.mul_(0.01)
            critic.output.bias.zero_()
        return critic

    def q_values(self, critic: nn.Module, state: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Normalised Q-values ``[..., N, A]`` of every agent's own actions, the others' fixed at ``actions``."""
        return critic(joint_action_inputs(state, obs, actions, self.n_actions))[0]

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def act(self, out: EnvStep, hidden: torch.Tensor | None, explore: bool, env_steps: int = 0):
        """A2C's actions; a recurrent actor's ``act_info`` also holds the hidden state after the step
        (``next_hidden``), which the bootstrap at the final observation acts from."""
        actions, new_hidden, act_info = super().act(out, hidden, explore, env_steps)
        if explore and self.config.recurrent:
            act_info["next_hidden"] = new_hidden
        return actions, new_hidden, act_info

    def step_values(self, out: EnvStep, actions: torch.Tensor) -> torch.Tensor:
        """Q^-(s, u) of the taken joint action, for each agent ``[B, N]``."""
        return self.q_values(self.target_critic, out.state, out.obs, actions).gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def next_values(self, after: EnvStep, act_info: dict[str, torch.Tensor]) -> torch.Tensor:
        """sum_u' pi_a(u' | o') Q^-(s', (u~^-a, u')) at the final observation, u~ sampled from the policy."""
        ended = episode_ended(after)
        mask = after.action_mask
        if mask is not None:
            mask = mask | ended[:, None, None]  # the final observation's legal actions are not reported
        raw, _ = self.actor(after.final_obs, act_info.get("next_hidden"), alive=after.alive, adjacency=self.config.adjacency(after))
        logits = self._masked(raw, mask)
        sampled = self._sample(logits)
        q = self.q_values(self.target_critic, after.final_state, after.final_obs, sampled)
        return (torch.softmax(logits, -1) * q).sum(-1)

    # ------------------------------------------------------------------ training
    def train(self, env_steps: int = 0) -> dict[str, float | torch.Tensor]:
        """Bootstrap each step that did not end its episode with the next step's Q^-(s', u'), train
        (A2C's update with COMA's loss), and refresh the target critic when due."""
        buffer = self.buffer
        T = buffer.position
        buffer.final_value[:T] = next_step_bootstrap(buffer.value[:T], buffer.final_value[:T], buffer.ended[:T])
        stats = super().train(env_steps)
        if self.updates % self.config.target_update_interval == 0:
            self.target_critic.load_state_dict(self.critic.state_dict())
        return stats

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        weight = batch["alive"].float()
        output = self.policy_output(batch)
        log_prob, entropy = self.log_prob_entropy(output, batch["actions"])
        q = self.q_values(self.critic, batch["state"], batch["obs"], batch["actions"])
        advantages = counterfactual_advantage(q.detach(), torch.softmax(output, -1).detach(), batch["actions"])
        if c.normalize_advantages:
            advantages = normalized_advantages(advantages, weight)
        taken = q.gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)
        return a2c_loss(log_prob, advantages, taken, batch["targets"], entropy, weight, c.value_coef, c.entropy_coef)

    # ------------------------------------------------------------------ distribution and checkpoints
    def data_parallel_parts(self) -> DataParallelParts:
        """A2C's parts and the target critic (refreshed alike on every rank)."""
        parts = super().data_parallel_parts()
        return dataclasses.replace(parts, networks=(*parts.networks, self.target_critic))

    def state_dict(self, include_buffer: bool = True) -> dict:
        return {**super().state_dict(include_buffer), "target_critic": self.target_critic.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.target_critic.load_state_dict(state["target_critic"])
