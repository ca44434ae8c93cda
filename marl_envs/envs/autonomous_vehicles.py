"""Autonomous vehicles: cars on one road keep their own pace without coming too close.

| | |
|---|---|
| Import | `from marl_envs import autonomous_vehicles_v0` |
| Agents | `vehicle_0` ... `vehicle_3` (`n_vehicles`, default 4) |
| Action space | `continuous_actions=True` (default): `Box(-1, 1, (1,), float32)`, acceleration as a fraction of 3 m/s^2; `continuous_actions=False`: `Discrete(3)`: 0 brake (-1), 1 keep speed (0), 2 accelerate (+1) |
| Observation space | `Box(low, high, (6,), float32)`, bounds below |
| State space | `Box(low, high, (3 * n_vehicles,), float32)` (12 by default) |
| Reward | individual |

## Description
The `AutonomousVehicleEnvironment` of the foundations-and-applications design note. Vehicles
drive one way along a road of length `road_length` (metres). Each has a target speed it would
like to keep; it is rewarded for speed, for being near its target speed, and punished while it
is closer than 2 m to another vehicle. Vehicles are points on the road's axis: they can pass
each other (there is no physical collision), and coming close is only penalised.

## Rules of one step (dt = 0.1 s)
1. `speed <- clamp(speed + 3 * action * dt, 0, 25)`: the action scales the maximum
   acceleration of 3 m/s^2; the speed limits [0, 25] m/s are a rule of the road (the clamp
   applies to the speed, never to the action, which must lie in [-1, 1]).
2. `position <- position + speed * dt` (with the new speed).
3. Reward of vehicle i, from the new positions and speeds:
   `-0.1 * |speed - target_speed| + 0.05 * speed`, and `-10` more while the nearest other
   vehicle is closer than 2 m (distance < 2).

Hand-worked example: a vehicle at 5 m/s with target 15 that accelerates fully reaches
5 + 3 * 1 * 0.1 = 5.3 m/s, moves 0.53 m, and earns -0.1 * 9.7 + 0.05 * 5.3 = -0.705.

## Observation
Vehicle i sees 6 numbers (the note's): `[position / L, speed / 20, target_speed / 20,
(position of the nearest other vehicle - position) / L, (its speed - speed) / 20,
distance to it / 20]`, with L = `road_length`. The nearest other vehicle is the one at the
smallest distance `|x_j - x_i|`; on a tie, the lowest index.
Bounds: positions lie in `[0, L + 2.5]` (a vehicle moves at most 25 * 0.1 = 2.5 m past the end
in the step that ends the episode), so `position / L` is in `[0, 1 + 2.5 / L]`, relative
positions in `[-(1 + 2.5 / L), 1 + 2.5 / L]`, distances / 20 in `[0, (L + 2.5) / 20]`; speed / 20
in `[0, 1.25]`, relative speeds in `[-1.25, 1.25]`, target speed / 20 in `[0.5, 1]`.

## State
All positions / L, all speeds / 20, all target speeds / 20 (`3 * n_vehicles`), same bounds.

## Starting state
Positions `U[0, 0.3 L)`, speeds 5 m/s, target speeds `U[10, 20)`, drawn per episode from the
env's random stream. (The upper ends are exclusive; float32 rounding can make a target speed
exactly 20.)

## Episode end
Terminates for every vehicle as soon as any vehicle reaches the end of the road
(`position >= L`); truncated after `max_cycles` (100) steps.

## Arguments
- `n_vehicles=4`: at least 2 (each vehicle observes its nearest other vehicle).
- `road_length=100.0`: positive and finite, in metres.
- `continuous_actions=True`: acceleration in [-1, 1], or the 3 discrete actions of the note's PPO
  configuration (brake, keep, accelerate = -1, 0, +1).
- `max_cycles=100`: steps before truncation.

## Differences from the design note
- The note's reset drew with the global, unseeded `torch.rand`; here the env's seeded
  per-sub-env stream is used.
- The note silently clipped actions to [-1, 1]; here out-of-range actions are rejected.
- The note's single `done` is split: reaching the end of the road terminates, the 100-step
  limit truncates.

## Version history
- v0: initial release.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from marl_envs.core.actions import action_spaces
from marl_envs.core.batched import BatchedEnv
from marl_envs.core.checks import boolean, int_at_least
from marl_envs.core.episode import EpisodeState
from marl_envs.core.render import AGENT_COLOURS

__all__ = ["AutonomousVehiclesEnv"]

DT = 0.1
MAX_ACCELERATION = 3.0
MAX_SPEED = 25.0
START_SPEED = 5.0
SAFE_DISTANCE = 2.0
SPEED_SCALE = 20.0
# Discrete actions of the note's PPO configuration: brake, keep speed, accelerate.
PROTOTYPES = [[-1.0], [0.0], [1.0]]


class AutonomousVehiclesEpisode(EpisodeState):
    """What changes during an episode of ``AutonomousVehiclesEnv``, per sub-env."""

    positions: torch.Tensor
    """float32 ``[B, N]``: each vehicle's position along the road (m)."""
    speeds: torch.Tensor
    """float32 ``[B, N]``: each vehicle's speed (m/s)."""
    target_speeds: torch.Tensor
    """float32 ``[B, N]``: each vehicle's target speed (m/s)."""


class AutonomousVehiclesEnv(BatchedEnv):
    """Batched autonomous vehicles; see the module documentation for the rules."""

    Episode = AutonomousVehiclesEpisode

    def __init__(
        self,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
        *,
        n_vehicles: int = 4,
        road_length: float = 100.0,
        continuous_actions: bool = True,
        max_cycles: int = 100,
        validate_actions: bool = True,
        sync_free: bool | None = None,
    ):
        n_vehicles = int_at_least("n_vehicles", n_vehicles, 2)
        if isinstance(road_length, (bool, np.bool_)) or not isinstance(road_length, (int, float, np.integer, np.floating)):
            raise ValueError(f"road_length must be a positive finite number, got {road_length!r}")
        L = np.float32(road_length)
        if not (np.isfinite(L) and L > 0):
            raise ValueError(f"road_length must be a positive finite number, got {road_length!r}")
        self.road_length = float(L)
        self.continuous_actions = boolean("continuous_actions", continuous_actions)

        # Bounds computed in float32, as the observation is (correctly rounded, so monotone),
        # then widened by one float32 step as a margin against a different rounding order.
        f32 = np.float32
        far = L + f32(MAX_SPEED) * f32(DT)  # the farthest a vehicle can get: L + 2.5
        speed, target_low, target_high = f32(MAX_SPEED) / f32(SPEED_SCALE), f32(10) / f32(SPEED_SCALE), f32(20) / f32(SPEED_SCALE)
        obs_high = _up(np.array([far / L, speed, target_high, far / L, speed, far / f32(SPEED_SCALE)], np.float32))
        obs_low = np.array([0, 0, target_low, -obs_high[3], -obs_high[4], 0], np.float32)
        n = n_vehicles
        state_low = np.repeat(obs_low[:3], n)
        state_high = np.repeat(obs_high[:3], n)

        agents = [f"vehicle_{i}" for i in range(n_vehicles)]
        box = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        spaces, table = action_spaces(agents, box, self.continuous_actions, PROTOTYPES)
        super().__init__(
            num_envs,
            device,
            max_cycles=max_cycles,
            validate_actions=validate_actions,
            sync_free=sync_free,
            possible_agents=agents,
            observation_spaces=dict.fromkeys(agents, gymnasium.spaces.Box(obs_low, obs_high, dtype=np.float32)),
            action_spaces=spaces,
            state_space=gymnasium.spaces.Box(state_low, state_high, dtype=np.float32),
            action_table=table,
        )
        dev, B = self.device, self.num_envs
        # Added to |x_j - x_i| so that a vehicle is never its own nearest neighbour.
        self._self_distance = torch.diag(torch.full((n,), float("inf"), device=dev))
        self._obs_scale = torch.tensor([L, SPEED_SCALE, SPEED_SCALE, L, SPEED_SCALE, SPEED_SCALE], device=dev)
        self._state_scale = torch.tensor([L] * n + [SPEED_SCALE] * (2 * n), device=dev)
        self.episode.positions = torch.zeros(B, n, device=dev)
        self.episode.speeds = torch.zeros(B, n, device=dev)
        self.episode.target_speeds = torch.zeros(B, n, device=dev)

    def reset_envs(self, env_ids: torch.Tensor) -> None:
        draws = self.rng.uniform((2, self.n_agents), env_ids)
        self.episode.positions[env_ids] = draws[:, 0] * (0.3 * self.road_length)
        self.episode.target_speeds[env_ids] = draws[:, 1] * 10.0 + 10.0
        self.episode.speeds.index_fill_(0, env_ids, START_SPEED)

    def step_envs(self, actions: torch.Tensor):
        speeds = (self.episode.speeds + actions[..., 0] * (MAX_ACCELERATION * DT)).clamp_(0.0, MAX_SPEED)
        positions = self.episode.positions + speeds * DT
        self.episode.speeds, self.episode.positions = speeds, positions
        gaps = (positions[:, None, :] - positions[:, :, None]).abs_() + self._self_distance
        too_close = gaps.amin(-1) < SAFE_DISTANCE
        reward = speeds * 0.05 - (speeds - self.episode.target_speeds).abs_() * 0.1 - too_close * 10.0
        terminated = (positions >= self.road_length).any(-1, keepdim=True).expand(reward.shape)
        return reward, terminated, {}

    def observations(self) -> torch.Tensor:
        positions, speeds = self.episode.positions, self.episode.speeds
        offsets = positions[:, None, :] - positions[:, :, None]  # [b, i, j] = x_j - x_i
        distance, nearest = (offsets.abs() + self._self_distance).min(-1)
        relative_position = offsets.gather(-1, nearest[..., None])[..., 0]
        relative_speed = speeds.gather(1, nearest) - speeds
        raw = torch.stack((positions, speeds, self.episode.target_speeds, relative_position, relative_speed, distance), -1)
        return raw / self._obs_scale

    def global_state(self) -> torch.Tensor:
        return torch.cat((self.episode.positions, self.episode.speeds, self.episode.target_speeds), -1) / self._state_scale

    def render_rgb(self, env_index: int) -> np.ndarray:
        """The road from left (0) to right (L), one row per vehicle; the end of the road in red."""
        width, row, margin = 400, 12, 6
        image = np.full((2 * margin + self.n_agents * row, width + 2 * margin + 4, 3), 245, np.uint8)
        image[margin:-margin, margin : margin + width] = 200
        image[:, margin + width : margin + width + 2] = (214, 39, 40)
        for i, x in enumerate(self.episode.positions[env_index].tolist()):
            left = margin + min(round(x / self.road_length * width), width + 2)
            top = margin + i * row + 2
            image[top : top + row - 4, max(left - 4, 0) : left + 4] = AGENT_COLOURS[i % len(AGENT_COLOURS)]
        return image

    def render_ansi(self, env_index: int) -> str:
        columns = 50
        road = ["." for _ in range(columns + 1)]
        lines = []
        for i, (x, v, target) in enumerate(
            zip(
                self.episode.positions[env_index].tolist(),
                self.episode.speeds[env_index].tolist(),
                self.episode.target_speeds[env_index].tolist(),
            )
        ):
            cell = min(int(x / self.road_length * columns), columns)
            road[cell] = str(i % 10)
            lines.append(f"vehicle_{i}: x {x:7.2f} m  speed {v:5.2f} m/s  target {target:5.2f} m/s")
        return "".join(road) + "|\n" + "\n".join(lines) + "\n"


def _up(values: np.ndarray) -> np.ndarray:
    return np.nextafter(values, np.float32(np.inf)).astype(np.float32)
