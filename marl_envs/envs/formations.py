"""What mpe2's two formation tasks share (``line_formation_v0``, ``circle_formation_v0``).

N agents (discs of radius ``agent_size`` that push each other apart) and a few landmarks (points
nothing collides with) on MPE's particle physics. Each step the env computes N target positions
(the formation), assigns agents to targets so that the sum of the agent-target distances is
smallest (mpe2 calls ``scipy.optimize.linear_sum_assignment``; here every one of the N!
assignments is tried at once, so N is at most :data:`MAX_AGENTS`), and pays every agent the
same reward, minus the mean of the assigned distances, each clipped to [0, 2]. With
``terminate_on_success`` the episode ends when every assigned distance is below 0.05; on the
step that reaches ``max_cycles`` mpe2 truncates instead, and so does this env.

An agent observes ``[own velocity (2), own position (2), each landmark relative to it (2 each)]``;
the state is every agent's observation, concatenated. Subclasses write where the targets are
(:meth:`FormationEnv.targets`) and how an episode starts (:meth:`FormationEnv.reset_envs`).
"""

from __future__ import annotations

import itertools

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.envs.particles import ObservationLayout, ParticleWorld, particle_image

__all__ = ["MAX_AGENTS", "FormationEnv", "matched_distances"]

MAX_AGENTS = 8
"""The most agents a formation env takes: the assignment tries all N! matchings (40,320 for 8)."""
SUCCESS_DISTANCE = 0.05  # mpe2's DIST_THRESHOLD


def matched_distances(distances: torch.Tensor, permutations: torch.Tensor) -> torch.Tensor:
    """``[B, N]``: the agent-target distances of the assignment with the smallest sum.

    ``distances [B, N agents, N targets]``; ``permutations [P, N]``: every assignment (agent i to
    target ``permutation[i]``). Ties between assignments have probability zero with continuous positions.
    """
    B, N = distances.shape[:2]
    per_assignment = distances[:, torch.arange(N, device=distances.device), permutations]  # [B, P, N]
    best = per_assignment.sum(-1).argmin(-1)  # [B]
    return per_assignment[torch.arange(B, device=distances.device), best]


class FormationEnv(BatchedEnv):
    """Base of the formation envs (see the module documentation); not registered itself."""

    metadata = {**BatchedEnv.metadata, "render_fps": 10}

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device,
        *,
        N: int,
        n_landmarks: int,
        agent_size: float,
        landmark_size: float,
        max_cycles: int,
        continuous_actions: bool,
        terminate_on_success: bool,
        validate_actions: bool,
        sync_free: bool | None,
    ):
        N = int_at_least("N", N, 1)
        if N > MAX_AGENTS:
            raise ValueError(f"N must be at most {MAX_AGENTS} (the assignment tries all N! matchings), got {N}")
        continuous_actions = boolean("continuous_actions", continuous_actions)
        self.terminate_on_success = boolean("terminate_on_success", terminate_on_success)
        agents = [f"agent_{i}" for i in range(N)]
        box = gymnasium.spaces.Box(0.0, 1.0, (5,), np.float32)
        spaces, table = action_spaces(agents, box, continuous_actions, np.eye(5))
        size = 4 + 2 * n_landmarks
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, gymnasium.spaces.Box(-np.inf, np.inf, (size,), np.float32)),
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(-np.inf, np.inf, (N * size,), np.float32),
            action_table=table,
        )
        self.continuous_actions = continuous_actions
        self.agent_size, self.landmark_size = agent_size, landmark_size
        self.world = world = ParticleWorld(
            self.num_envs,
            self.device,
            agent_sizes=[agent_size] * N,
            agent_accels=[5.0] * N,  # MPE's default sensitivity
            agent_max_speeds=None,
            landmark_sizes=[landmark_size] * n_landmarks,
            landmark_collide=False,
        )
        self.episode.world = world.episode
        rows = []
        for i in range(N):
            row = world.feature_index("velocity", i) + world.feature_index("position", i)
            for landmark in range(N, N + n_landmarks):
                row += world.feature_index("relative", i, landmark)
            rows.append(row)
        self.layout = ObservationLayout(world, rows)
        self._permutations = torch.tensor(list(itertools.permutations(range(N))), device=self.device)

    def targets(self) -> torch.Tensor:
        """float64 ``[B, N, 2]``: the formation's positions now."""
        raise NotImplementedError

    def step_envs(self, actions: torch.Tensor):
        self.world.move(actions)
        positions = self.world.episode.agent_pos.permute(2, 1, 0)  # [B, N, 2]
        difference = positions[:, :, None] - self.targets()[:, None]  # [B, N agents, N targets, 2]
        distances = (difference * difference).sum(-1).sqrt()  # as np.linalg.norm
        matched = matched_distances(distances, self._permutations)
        reward = -matched.clamp(0, 2).mean(-1)  # [B], float64
        done = (matched < SUCCESS_DISTANCE).all(-1) if self.terminate_on_success else torch.zeros_like(reward, dtype=torch.bool)
        done = done & (self.step_count + 1 < self.max_cycles)  # mpe2 checks the time limit first (the base counts the step after)
        shape = (self.num_envs, self.n_agents)
        return reward.float()[:, None].expand(shape), done[:, None].expand(shape), {"mean_distance": matched.mean(-1).float()}

    def observations(self) -> torch.Tensor:
        return self.layout.observe()

    def global_state(self) -> torch.Tensor:
        return self.layout.state()

    def render_rgb(self, env_index: int) -> np.ndarray:
        agents, _, landmarks = self.world.positions(env_index)
        L, N = len(landmarks), self.n_agents
        colours = [(50, 50, 50)] * L + [(70, 70, 170)] * N  # mpe2's colours x 200
        return particle_image(np.concatenate((landmarks, agents)), [self.landmark_size] * L + [self.agent_size] * N, colours)

    def render_ansi(self, env_index: int) -> str:
        return self.world.text(env_index, self.possible_agents, f"step {int(self.step_count[env_index])}")
