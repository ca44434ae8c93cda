"""Covert communication: Alice sends Bob a message that Eve overhears (mpe2's `simple_crypto_v3`).

| | |
|---|---|
| Import | `from marl_envs import covert_communication_v0` |
| Agents | `eve_0`, `bob_0`, `alice_0` |
| Action space | `Discrete(4)`; `continuous_actions=True`: `Box(0, 1, (4,), float32)`: what the agent says |
| Observation space | eve `Box(-inf, inf, (4,), float32)`, bob and alice `Box(-inf, inf, (8,), float32)` |
| State space | `Box(-inf, inf, (20,), float32)`: every agent's observation, concatenated |
| Reward | eve: minus her decoding error; bob and alice: eve's error minus bob's |

## Description
The covert communication task of the MADDPG paper (Lowe et al., 2017), exactly as mpe2's
`simple_crypto_v3` (`mpe2/simple_crypto/simple_crypto.py`): the same defaults, agent names,
spaces, observations, rewards and state, so that code written for `mpe2.simple_crypto_v3` runs
unchanged (`tests/test_mpe_parity.py` checks whole episodes against mpe2). Every sub-env of a
batched env is one such game.

Alice knows a message (one of two one-hot "colours" in 4 dimensions) and a key (another of
the two, drawn independently) that Bob knows too. Every step each agent says four numbers;
Bob and Eve hear what Alice said. Bob should reconstruct the message; Eve, who does not know
the key, should too, and Alice and Bob gain from Eve's failure: they must learn to encode the
message with the key. Nobody moves: mpe2's world has two landmarks whose colours are the
messages, and positions nobody observes, so this env keeps no physics.

## Action space
What the agent says, `c` (4 numbers): discrete action k says the one-hot `e_k`;
`continuous_actions=True`: the four numbers themselves, in [0, 1]. (mpe2 clips continuous
actions outside [0, 1]; here they are refused with an error, as in every env of the suite.)

## Observation space
- eve: `[what alice said (4)]`;
- bob: `[the key (4), what alice said (4)]`;
- alice: `[the message (4), the key (4)]`.

What an agent says at one step is heard in the observations that step returns (as mpe2's
`state.c`); it is zeros at the start of an episode.

## Rewards
With `e(x) = |c_x - message|^2` for what x said at the step, counted only if x said something
other than all zeros (mpe2's rule; otherwise 0): eve gets `-e(eve)`, bob and alice both get
`e(eve) - e(bob)`.

## State
`state()` is mpe2's: the three observations concatenated in agent order (`[4 + 8 + 8]`).

## Starting state
The message and the key uniformly among the two one-hot vectors `(1, 0, 0, 0)` and `(0, 1, 0, 0)`,
independently (from the env's own random stream); everyone has said zeros.

## Episode end
No terminal state; every agent is truncated after `max_cycles` steps.

## Info
Per step: `message_error` (per agent): `|c - message|^2` of what it said, counted or not.

## Arguments
- `max_cycles=25`: steps before truncation.
- `continuous_actions=False`: Box actions instead of Discrete.

mpe2's other arguments (`dynamic_rescaling`, `benchmark_data`) only concern its drawing and its infos.

## Differences from mpe2
- Out-of-range continuous actions are refused with an error (mpe2 clips them), as in every env of the suite.
- Rewards are mpe2's rounded to float32 (mpe2 returns Python floats); observations and state equal mpe2's.
- The message and key come from the env's own counter-based random streams (not NumPy's
  generator), so a seed gives a different (equally distributed) start than mpe2's same seed.
- mpe2's module docstring describes rewards of +-2 for reconstructing a bit; mpe2's code (and
  this env) uses the squared errors above, which its docstring does not mention.

## Version history
- v0: initial release, matching mpe2's `simple_crypto_v3`.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean
from marl_envs.core.episode import EpisodeState

__all__ = ["CovertCommunicationEnv"]

SYMBOLS = 4  # mpe2's dim_c: the width of what an agent says, of the message and of the key
MESSAGES = 2  # mpe2's two landmarks, whose colours are the possible messages and keys
EVE, BOB, ALICE = range(3)


class CovertCommunicationEpisode(EpisodeState):
    """What changes during an episode of ``CovertCommunicationEnv``, per sub-env."""

    message: torch.Tensor
    """int64 ``[B]``: which of the two one-hot vectors Alice must send."""
    key: torch.Tensor
    """int64 ``[B]``: which of the two one-hot vectors is Alice's and Bob's key."""
    said: torch.Tensor
    """float32 ``[B, 3, 4]``: what each agent said at the last step (mpe2's ``state.c``)."""


class CovertCommunicationEnv(BatchedEnv):
    """Batched covert communication (MPE's simple_crypto); see the module documentation."""

    Episode = CovertCommunicationEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        max_cycles: int = 25,
        continuous_actions: bool = False,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        continuous_actions = boolean("continuous_actions", continuous_actions)
        agents = ["eve_0", "bob_0", "alice_0"]
        box = gymnasium.spaces.Box(0.0, 1.0, (SYMBOLS,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, np.eye(SYMBOLS))
        eve_space = gymnasium.spaces.Box(-np.inf, np.inf, (SYMBOLS,), np.float32)
        pair_space = gymnasium.spaces.Box(-np.inf, np.inf, (2 * SYMBOLS,), np.float32)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces={"eve_0": eve_space, "bob_0": pair_space, "alice_0": pair_space},
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (5 * SYMBOLS,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self._one_hot = torch.eye(SYMBOLS, device=self.device)[:MESSAGES]  # the messages and keys, float32
        self.episode.message = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.episode.key = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.episode.said = torch.zeros(self.num_envs, 3, SYMBOLS, device=self.device)
        self._padding = torch.zeros(self.num_envs, SYMBOLS, device=self.device)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        self.episode.message[env_ids] = self.rng.integers(MESSAGES, (), env_ids)  # mpe2 draws the goal, then the key
        self.episode.key[env_ids] = self.rng.integers(MESSAGES, (), env_ids)
        self.episode.said.index_fill_(0, env_ids, 0.0)

    def step_envs(self, actions: torch.Tensor):
        self.episode.said = actions.clone()
        message = self._one_hot.index_select(0, self.episode.message).double()[:, None]  # [B, 1, 4]
        difference = self.episode.said.double() - message
        error = (difference * difference).sum(-1)  # [B, 3], float64 as mpe2's np.sum(np.square(...))
        counted = torch.where((self.episode.said != 0).any(-1), error, torch.zeros_like(error))  # mpe2 skips an all-zero message
        eve = -counted[:, EVE]
        good = counted[:, EVE] + -counted[:, BOB]  # as mpe2: adv_rew + good_rew
        reward = torch.stack((eve, good, good), 1).float()
        terminated = torch.zeros(self.num_envs, 3, dtype=torch.bool, device=self.device)
        return reward, terminated, {"message_error": error.float()}

    def _observed(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        alice_said = self.episode.said[:, ALICE]
        key = self._one_hot.index_select(0, self.episode.key)
        eve = alice_said.clone()
        bob = torch.cat((key, alice_said), 1)
        alice = torch.cat((self._one_hot.index_select(0, self.episode.message), key), 1)
        return eve, bob, alice

    def observations(self) -> torch.Tensor:
        eve, bob, alice = self._observed()
        return torch.stack((torch.cat((eve, self._padding), 1), bob, alice), 1)

    def global_state(self) -> torch.Tensor:
        return torch.cat(self._observed(), 1)

    def render_ansi(self, env_index: int) -> str:
        said = self.episode.said[env_index].tolist()
        lines = [
            f"step {int(self.step_count[env_index])}, message {int(self.episode.message[env_index])}, "
            f"key {int(self.episode.key[env_index])}"
        ]
        for name, words in zip(self.possible_agents, said):
            lines.append(f"{name:8s} said [{', '.join(f'{w:.2f}' for w in words)}]")
        return "\n".join(lines) + "\n"
