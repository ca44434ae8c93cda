"""The particle world of the multi-agent particle environments (MPE), batched on torch tensors.

Written once here, used by every MPE env of the suite (each names the mpe2 scenario it reproduces;
``covert_communication_v0`` aside, whose agents never move). It reproduces ``mpe2._mpe_utils.core.World``
step for step, for B sub-envs at once, with no Python loop over sub-envs or entities.

## Entities
A world holds, per sub-env, N agents (discs, indices ``0 .. N-1``) followed by L landmarks
(static discs, indices ``N .. N+L-1``), on the plane. Agents collide with each other or not
(``agent_collide``; mpe2's contacts need both entities to collide, so without it there are no
contact forces at all), landmarks push agents or not (``landmark_collide``: all of them, or a
choice per landmark, as the obstacles but not the food or forests of ``predator_prey_comm_v0``). Agents move, except
those ``agent_movable`` marks as fixed (mpe2's ``movable=False``: no force, no integration).

## Layout: batch last
Inside this class tensors are laid out coordinate first and batch last, ``[2, N, B]``:
MPE's quantities have tiny trailing sizes (2 coordinates, a handful of entities), which
make batch-first elementwise kernels crawl; batch-last ones run along B. Everything that
leaves the class (``gather``, ``positions``, and ``place``'s arguments) is batch first. The state:

- ``agent_pos``, ``agent_vel``: ``[2, N, B]``;
- ``landmark_pos``: ``[2, L, B]`` (never moved by the physics);

and, derived from it by :meth:`ParticleWorld.refresh` (after every change):

- ``relative`` ``[2, N, E-1, B]`` (E = N + L): ``relative[:, i, k]`` is the position of agent
  i's k-th *other* entity minus agent i's position, the others in MPE's observation order:
  the L landmarks first, then the other agents in index order;
- ``distance`` ``[N, E-1, B]``: the lengths of ``relative``, ``sqrt(dx^2 + dy^2)`` as mpe2;
- ``features`` float32 ``[F, B]``: every quantity an MPE observation is made of (velocities,
  positions, ``relative``, and a zero row), so that observations are one gather from it
  (:meth:`ParticleWorld.feature_index`, :class:`ObservationLayout`).

The geometry at the end of a step is what that step's rewards and observations use and what
the next step's contact forces need, so it is computed once per step.

## One step (MPE's ``World.step``), ``dt = 0.1``
1. Action force: an MPE action ``[no_action, left, right, down, up]`` (each in [0, 1];
   a discrete action k is the unit vector e_k) gives the force
   ``u = accel * (right - left, up - down)``, where ``accel`` is MPE's ``sensitivity``
   (the agent's ``accel``, 5.0 when it has none). As in mpe2 the two differences are
   taken in float32 (the actions' type), the rest in float64.
2. Contact forces, between every two colliding entities a, b (at the positions of the
   start of the step): ``f_a = contact_force * (p_a - p_b) / |p_a - p_b| * pen``, with the
   soft penetration ``pen = margin * log(1 + exp((size_a + size_b - |p_a - p_b|) / margin))``
   (``contact_force = 100``, ``margin = 1e-3``), computed in the overflow-free form
   ``max(x, 0) + margin * log1p(exp(-|x| / margin))`` with ``x = size_a + size_b - dist``.
   Only agents are pushed (landmarks are not movable).
3. Integration, explicit Euler with damping: ``p <- p + v * dt`` (with the old velocity),
   then ``v <- v * (1 - damping) + (u + f) / mass * dt`` (``damping = 0.25``, ``mass = 1`` unless
   an env gives its agents other masses),
   then, for agents with a ``max_speed``, ``v <- v * min(1, max_speed / |v|)``.

## Precision
The state and the physics are float64, as in mpe2: the chaotic contact dynamics amplify
rounding, and in float32 a whole episode drifted up to 1.5e-5 from mpe2 (in about 1% of
episodes, those with deep overlaps). In float64 the observations (float32) equal mpe2's
exactly in every episode ``tests/test_mpe_parity.py`` runs; rewards differ only by their
rounding to float32. Every operation used is exactly rounded or gives the same bits at any
batch size (no fused or batch-size-dependent kernels), so sub-env b of a batched env and a
single env follow the same trajectory bit for bit.

## Differences from mpe2 (all deliberate)
- Two entities at exactly the same point push each other with zero force (mpe2 divides by
  zero and turns the world into NaN).
- Contact forces below about 1e-250 (between discs whose edges are more than 0.6 apart) are not computed exactly
  (``exp`` of very negative arguments is floored, because underflowing ``exp`` is slow); they
  change no float32 observation.
- No motor or communication noise (``u_noise``, ``c_noise``): no MPE task used here has them.
  Communication (mpe2's ``state.c``) is not physics: the envs that have it keep the messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from marl_envs.core.episode import EpisodeState

__all__ = ["KeptObservations", "ParticleEpisode", "ParticleWorld", "ObservationLayout", "closest_first", "particle_image", "particle_text"]

# exp() of arguments below this underflows, which is slow; MPE's contact force there is below
# 1e-250 anyway. The argument is floored, which changes no float32 observation.
_EXPONENT_FLOOR = -600.0


class ParticleEpisode(EpisodeState):
    """A particle world's per-sub-env state, batch dimension last: the state and the geometry
    ``ParticleWorld.refresh`` derives from it."""

    batch_dim = -1

    agent_pos: torch.Tensor
    """float ``[2, N, B]``: positions (x, y)."""
    agent_vel: torch.Tensor
    """float ``[2, N, B]``: velocities."""
    landmark_pos: torch.Tensor
    """float ``[2, L, B]``: landmark positions."""
    relative: torch.Tensor
    """float ``[2, N, L + N - 1, B]``: from each agent to every landmark, then to every other agent."""
    distance: torch.Tensor
    """float ``[N, L + N - 1, B]``: the lengths of ``relative``."""
    features: torch.Tensor
    """float32 ``[F, B]``: every number an observation is gathered from (see ``ObservationLayout``)."""


class ParticleWorld:
    """B particle worlds of N agents and L landmarks; see the module documentation.

    Args:
        num_envs, device: batch size and device of every tensor.
        agent_sizes: radius of each agent (N values).
        agent_accels: MPE's ``sensitivity`` of each agent (N values; 5.0 in MPE when unset).
        agent_max_speeds: each agent's speed limit, or None for agents without one (N values or None).
        landmark_sizes: radius of each landmark (L values).
        landmark_collide: whether landmarks push agents: one flag for all, or one per landmark (L values).
        agent_collide: whether agents push each other (False: no contact forces at all).
        agent_movable: per agent, whether it moves (N values; None: all do).
        agent_masses: each agent's mass (N values; None: all 1, MPE's default).
        dt, damping, contact_force, contact_margin: MPE's physical constants.
        dtype: of the state and of the physics (float64, as mpe2; observations are float32).
    """

    def __init__(
        self,
        num_envs: int,
        device: torch.device,
        *,
        agent_sizes: Sequence[float],
        agent_accels: Sequence[float],
        agent_max_speeds: Sequence[float | None] | None,
        landmark_sizes: Sequence[float],
        landmark_collide: bool | Sequence[bool],
        agent_collide: bool = True,
        agent_movable: Sequence[bool] | None = None,
        agent_masses: Sequence[float] | None = None,
        dt: float = 0.1,
        damping: float = 0.25,
        contact_force: float = 100.0,
        contact_margin: float = 1e-3,
        dtype: torch.dtype = torch.float64,
    ):
        B, N, L = num_envs, len(agent_sizes), len(landmark_sizes)
        self.num_envs, self.n_agents, self.n_landmarks = B, N, L
        self.device, self.dtype = device, dtype
        self.agent_sizes, self.landmark_sizes = list(agent_sizes), list(landmark_sizes)

        def constant(values) -> torch.Tensor:
            return torch.tensor(values, dtype=dtype, device=device)

        # others[i]: agent i's other entities in MPE's observation order (landmarks, then other agents).
        self.others = [[N + l for l in range(L)] + [k for k in range(N) if k != i] for i in range(N)]
        self._others = torch.tensor(self.others, dtype=torch.int64, device=device).reshape(-1)
        # Contacts need only the colliding others' columns (landmarks first, then agents): all of them
        # (None), the agents' (a slice), or the agents' and some landmarks' (an index tensor).
        collide = [bool(landmark_collide)] * L if isinstance(landmark_collide, (bool, np.bool_)) else [bool(c) for c in landmark_collide]
        if len(collide) != L:
            raise ValueError(f"landmark_collide must be one flag or one per landmark ({L}), got {len(collide)}")
        columns = [c for c in range(L) if collide[c]] + list(range(L, N + L - 1))
        if all(collide):
            self._colliders = None
        elif not any(collide):
            self._colliders = slice(L, None)
        else:
            self._colliders = torch.tensor(columns, dtype=torch.int64, device=device)
        self._contacts = agent_collide
        sizes = self.agent_sizes + self.landmark_sizes
        self._dist_min = constant([[sizes[i] + sizes[row[c]] for c in columns] for i, row in enumerate(self.others)])
        self._dist_min = self._dist_min.reshape(N, -1, 1)
        # relative is (other - self); MPE pushes along (self - other): hence the minus sign.
        self._push = constant(-contact_force)
        self._margin = constant(contact_margin)
        self._minus_inverse_margin = constant(-1.0 / contact_margin)
        self._exponent_floor = constant(_EXPONENT_FLOOR)
        self._tiny = constant(1e-30)
        self._accel = constant(list(agent_accels))[:, None]
        self._keep = constant(1.0 - damping)
        self._dt = constant(dt)
        masses = [1.0] * N if agent_masses is None else [float(m) for m in agent_masses]
        # [N, 1]; None when every mass is 1 (force * dt is then mpe2's (force / 1) * dt, bit for bit)
        self._mass = None if all(m == 1.0 for m in masses) else constant(masses)[:, None]
        speeds = [np.inf if s is None else s for s in (agent_max_speeds or [None] * N)]
        self._max_speed = constant(speeds)[:, None] if any(np.isfinite(speeds)) else None
        movable = [True] * N if agent_movable is None else [bool(m) for m in agent_movable]
        # [N, 1]; None when every agent moves (no masking work in the step)
        self._movable = None if all(movable) else torch.tensor(movable, device=device)[:, None]
        self._zero = torch.zeros(1, B, dtype=dtype, device=device)
        self.episode = ParticleEpisode()
        self.episode.features = torch.zeros(4 * N + 2 * N * (N + L - 1) + 1, B, device=device)  # float32

        self.episode.agent_pos = torch.zeros(2, N, B, dtype=dtype, device=device)
        self.episode.agent_vel = torch.zeros(2, N, B, dtype=dtype, device=device)
        self.episode.landmark_pos = torch.zeros(2, L, B, dtype=dtype, device=device)
        self.refresh()

    # ------------------------------------------------------------------ state
    def reset(self, env_ids: torch.Tensor, agent_pos: torch.Tensor, landmark_pos: torch.Tensor) -> None:
        """Start the sub-envs ``env_ids`` (int64 ``[K]``) at rest at these positions (``[K, N, 2]``, ``[K, L, 2]``)."""
        self.episode.agent_pos[:, :, env_ids] = agent_pos.permute(2, 1, 0).to(self.dtype)
        self.episode.agent_vel.index_fill_(2, env_ids, 0.0)
        self.episode.landmark_pos[:, :, env_ids] = landmark_pos.permute(2, 1, 0).to(self.dtype)
        self.refresh()

    def place(self, agent_pos, agent_vel, landmark_pos, env_ids: torch.Tensor | None = None) -> None:
        """Set the state of the sub-envs ``env_ids`` (all by default) and refresh the geometry.

        Arrays ``[K, N, 2]``, ``[K, N, 2]``, ``[K, L, 2]`` (batch first, as everywhere outside this class).
        """
        ids = slice(None) if env_ids is None else torch.as_tensor(env_ids, device=self.device)
        count = self.num_envs if env_ids is None else len(ids)
        # Copies, not in-place writes: the tensors may have been made under torch.inference_mode.
        for name, value in (("agent_pos", agent_pos), ("agent_vel", agent_vel), ("landmark_pos", landmark_pos)):
            tensor = getattr(self.episode, name).clone()
            value = torch.as_tensor(value, dtype=self.dtype, device=self.device)
            tensor[:, :, ids] = value.reshape(count, tensor.shape[1], 2).permute(2, 1, 0)
            setattr(self.episode, name, tensor)
        self.refresh()

    def positions(self, env_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Agent positions ``[N, 2]``, agent velocities ``[N, 2]`` and landmark positions ``[L, 2]`` of one sub-env."""
        return tuple(
            t[:, :, env_index].T.cpu().numpy() for t in (self.episode.agent_pos, self.episode.agent_vel, self.episode.landmark_pos)
        )

    def refresh(self) -> None:
        """Recompute ``relative``, ``distance`` and ``features`` from the state."""
        N, B = self.n_agents, self.num_envs
        positions = torch.cat((self.episode.agent_pos, self.episode.landmark_pos), 1)  # [2, E, B]
        others = torch.index_select(positions, 1, self._others).view(2, N, -1, B)
        self.episode.relative = others - self.episode.agent_pos.unsqueeze(2)
        # A new tensor at every change: KeptObservations tells by its identity whether the world changed
        # (no Python counter, which torch.compile would guard on and recompile for at every step).
        self.episode.distance = (self.episode.relative * self.episode.relative).sum(0).sqrt()  # as mpe2: sqrt(dx^2 + dy^2)
        # Written in place: features is private (gather copies it) and rebuilt whole at every change.
        torch.cat(
            (self.episode.agent_vel.view(-1, B), self.episode.agent_pos.view(-1, B), self.episode.relative.view(-1, B), self._zero),
            out=self.episode.features,
        )

    def text(self, env_index: int, agents: Sequence[str], header: str, landmarks: Sequence[str] | None = None) -> str:
        """Sub-env ``env_index``'s ``ansi`` picture (:func:`particle_text`): ``header``, then each agent
        (named by ``agents``) and each landmark (named by ``landmarks``; default ``landmark_0``, ...)."""
        positions, velocities, landmark_positions = self.positions(env_index)
        names = list(landmarks) if landmarks is not None else [f"landmark_{i}" for i in range(len(landmark_positions))]
        return particle_text(header, agents, positions, velocities, names, landmark_positions)

    def feature_index(self, kind: str, *where: int) -> list[int]:
        """Rows of ``features`` holding the (x, y) of one quantity, to build an observation's gather index.

        ``("velocity", j)``, ``("position", j)``: agent j's own; ``("relative", i, j)``: entity j
        (agent j < N, landmark j >= N) seen from agent i; ``("zero",)``: a zero row, twice (padding,
        MPE's silent communication).
        """
        N, L = self.n_agents, self.n_landmarks
        if kind == "velocity":
            return [j * N + where[0] for j in (0, 1)]
        if kind == "position":
            return [2 * N + j * N + where[0] for j in (0, 1)]
        if kind == "relative":
            i, other = where
            column = i * (N + L - 1) + self.others[i].index(other)
            return [4 * N + j * N * (N + L - 1) + column for j in (0, 1)]
        if kind == "zero":
            zero = 4 * N + 2 * N * (N + L - 1)
            return [zero, zero]
        raise ValueError(f"unknown feature kind {kind!r}")

    def landmark_relative(self, landmark: torch.Tensor) -> torch.Tensor:
        """float ``[2, N, B]``: the position of landmark ``landmark`` (int64 ``[B]``, one per sub-env, or
        ``[N, B]``, one per agent) relative to each agent, from ``relative``."""
        index = landmark.expand(self.n_agents, -1)[None, :, None]  # [1, N, 1, B]
        return torch.gather(self.episode.relative[:, :, : self.n_landmarks], 2, index.expand(2, -1, -1, -1))[:, :, 0]

    def landmark_distance(self, landmark: torch.Tensor) -> torch.Tensor:
        """float ``[N, B]``: each agent's distance to landmark ``landmark`` (as in :meth:`landmark_relative`), from ``distance``."""
        index = landmark.expand(self.n_agents, -1)[:, None]  # [N, 1, B]
        return torch.gather(self.episode.distance[:, : self.n_landmarks], 1, index)[:, 0]

    def nearest(self, columns: slice, count: int | None) -> torch.Tensor:
        """mpe2's partial observability: the positions, relative to each agent, of the ``count``
        nearest of its other entities in ``columns`` of ``relative`` (``slice(0, L)``: landmarks,
        ``slice(L, None)``: other agents), closest first, zero-padded when there are fewer:
        float64 ``[B, N, 2 * count]`` (batch first). ``count=None``: all of them, in index order."""
        relative, distance = self.episode.relative[:, :, columns], self.episode.distance[:, columns]  # [2, N, K, B], [N, K, B]
        if count is None:
            return relative.permute(3, 1, 2, 0).reshape(self.num_envs, self.n_agents, -1)
        return closest_first(relative, distance, count)

    def neighbours(self, radius: float) -> torch.Tensor:
        """bool ``[B, N, N]``: agents i != j whose centres are at most ``radius`` apart."""
        difference = self.episode.agent_pos.unsqueeze(2) - self.episode.agent_pos.unsqueeze(1)  # [2, N, N, B]
        close = (difference * difference).sum(0) <= radius * radius
        close &= ~torch.eye(self.n_agents, dtype=torch.bool, device=self.device).unsqueeze(-1)
        return close.permute(2, 0, 1)

    def gather(self, index: torch.Tensor) -> torch.Tensor:
        """``features`` rows ``index`` (int64 ``[K]``), batch first: float32 ``[B, K]``, a fresh tensor."""
        return torch.index_select(self.episode.features, 0, index).T.contiguous()

    # ------------------------------------------------------------------ physics
    def move(self, actions: torch.Tensor, landmark_pos: torch.Tensor | None = None) -> None:
        """Advance every sub-env by one MPE step; ``actions``: float ``[B, N, 5]`` in MPE's layout.

        ``landmark_pos`` (float ``[2, L, B]``, batch last): where the landmarks stand at the end of
        the step (a scenario that moves landmarks after mpe2's ``World.step``, as collect-treasure
        respawns its treasures); the step's forces still see the old positions. None: they stay.
        """
        # (right - left, up - down): the difference is taken in float32, as mpe2 takes it on its actions.
        force = (actions[..., 2::2] - actions[..., 1::2]).permute(2, 1, 0).contiguous().to(self.dtype) * self._accel
        if self._contacts:
            relative, distance = self.episode.relative, self.episode.distance
            if isinstance(self._colliders, slice):
                relative, distance = relative[:, :, self._colliders], distance[:, self._colliders]
            elif self._colliders is not None:
                relative, distance = relative.index_select(2, self._colliders), distance.index_select(1, self._colliders)
            depth = self._dist_min - distance  # > 0 where two discs overlap
            soft = torch.log1p(torch.exp((depth.abs() * self._minus_inverse_margin).clamp_min(self._exponent_floor)))
            push = (soft * self._margin + depth.clamp_min(0.0)) * self._push / distance.clamp_min(self._tiny)
            force = force + (relative * push).sum(2)
        position = self.episode.agent_pos + self.episode.agent_vel * self._dt
        if self._mass is not None:  # mpe2's (force / mass) * dt, in that order
            force = force / self._mass
        velocity = self.episode.agent_vel * self._keep + force * self._dt
        if self._max_speed is not None:
            speed = (velocity * velocity).sum(0).sqrt()
            velocity = velocity * (self._max_speed / speed).clamp_max(1.0)
        if self._movable is not None:  # fixed agents keep their state (mpe2 skips them)
            position = torch.where(self._movable, position, self.episode.agent_pos)
            velocity = torch.where(self._movable, velocity, self.episode.agent_vel)
        self.episode.agent_pos, self.episode.agent_vel = position, velocity
        if landmark_pos is not None:
            self.episode.landmark_pos = landmark_pos
        self.refresh()


def closest_first(items: torch.Tensor, key: torch.Tensor, count: int | None = None) -> torch.Tensor:
    """What each agent sees of K things, ordered by ``key``, smallest first: mpe2's observations sorted by distance.

    ``items``: float ``[F, N, K, B]`` (F numbers per thing, as seen by each of N agents, batch last);
    ``key``: ``[N, K, B]`` (a distance). The sort is stable, as Python's ``sorted`` (mpe2's argsort
    ties have probability zero). Keeps the first ``count`` (None: all K), zero-padded to ``count``
    when there are fewer: batch first and flattened, float ``[B, N, count * F]``.
    """
    F, (N, K, B) = items.shape[0], key.shape
    count = K if count is None else count
    k = min(count, K)
    order = torch.argsort(key, dim=1, stable=True)[:, :k]
    picked = torch.gather(items, 2, order.unsqueeze(0).expand(F, -1, -1, -1))  # [F, N, k, B]
    picked = picked.permute(3, 1, 2, 0).reshape(B, N, F * k)
    return torch.nn.functional.pad(picked, (0, F * (count - k)))


class KeptObservations:
    """What an env's ``observations()`` built, kept for the ``global_state()`` that BatchedEnv asks
    for right after it, so that the state is cut from them instead of built a second time.

    ``keep(value)`` records it with the world's ``distance`` tensor, which every change of the world
    replaces (``ParticleWorld.refresh``); ``take()`` hands it out once, or None if the world has
    changed since (its ``distance`` is another tensor) or it was taken or ``clear``-ed. An env whose
    observations also read state outside the world clears it wherever that state changes.
    """

    def __init__(self, world: ParticleWorld):
        self.world = world
        self._kept: tuple[torch.Tensor, object] | None = None

    def keep(self, value) -> None:
        self._kept = (self.world.episode.distance, value)

    def take(self):
        kept, self._kept = self._kept, None
        return kept[1] if kept is not None and kept[0] is self.world.episode.distance else None

    def clear(self) -> None:
        self._kept = None


class ObservationLayout:
    """An MPE env's observations and state, as gathers from a world's ``features``.

    ``rows[i]`` lists the feature rows (from :meth:`ParticleWorld.feature_index`) of agent i's
    observation. Observations are zero-padded at the end to the largest size; the state is
    mpe2's, every agent's (unpadded) observation concatenated in agent order.
    """

    def __init__(self, world: ParticleWorld, rows: Sequence[Sequence[int]]):
        self.world = world
        self.sizes = [len(row) for row in rows]
        self.size = max(self.sizes)
        zero = world.feature_index("zero")[0]
        padded = [list(row) + [zero] * (self.size - len(row)) for row in rows]
        self._obs_index = torch.tensor(padded, device=world.device).reshape(-1)
        self._state_index = torch.tensor([r for row in rows for r in row], device=world.device)
        # Runs of consecutive agents with one observation size (teams): the state is cut from them.
        self._runs: list[tuple[int, int, int]] = []
        for i, size in enumerate(self.sizes):
            if self._runs and self._runs[-1][2] == size:
                self._runs[-1] = (self._runs[-1][0], i + 1, size)
            else:
                self._runs.append((i, i + 1, size))
        self._kept = KeptObservations(world)

    def observe(self) -> torch.Tensor:
        """float32 ``[B, N, O]``, a fresh tensor."""
        world = self.world
        observations = world.gather(self._obs_index).view(world.num_envs, world.n_agents, self.size)
        # A private copy to cut the state from (cheaper than a second gather; the caller may modify what it receives).
        self._kept.keep(observations.clone())
        return observations

    def state(self) -> torch.Tensor:
        """float32 ``[B, S]``, a fresh tensor."""
        observations = self._kept.take()
        if observations is None:
            return self.world.gather(self._state_index)
        B = self.world.num_envs
        if len(self._runs) == 1:
            return observations.view(B, -1)
        return torch.cat([observations[:, start:stop, :size].reshape(B, -1) for start, stop, size in self._runs], 1)


# ---------------------------------------------------------------------- rendering
def particle_image(positions: np.ndarray, sizes: Sequence[float], colours: Sequence[tuple[int, int, int]], pixels: int = 320) -> np.ndarray:
    """A uint8 ``pixels x pixels x 3`` picture of discs (drawn in order), as mpe2 draws its worlds.

    The camera is centred on the origin and spans ``max(1, max |coordinate|)``; y points up.
    """
    positions = np.asarray(positions, np.float64).reshape(-1, 2)
    camera = max(1.0, float(np.abs(positions).max(initial=0.0)))
    scale = pixels / 2 * 0.9 / camera
    image = np.full((pixels, pixels, 3), 255, np.uint8)
    rows, cols = np.mgrid[0:pixels, 0:pixels]
    for (x, y), size, colour in zip(positions, sizes, colours):
        cx, cy = pixels / 2 + x * scale, pixels / 2 - y * scale
        radius = max(2.0, size * scale)
        distance = np.hypot(cols + 0.5 - cx, rows + 0.5 - cy)
        image[distance <= radius] = colour
        image[(distance <= radius) & (distance > radius - 1.5)] = (0, 0, 0)
    return image


def particle_text(header: str, agents: Sequence[str], positions, velocities, landmarks: Sequence[str], landmark_positions) -> str:
    """A particle world's ``ansi`` picture: ``header``, then each agent's position and velocity and each landmark's position."""
    width = max(len(name) for name in [*agents, *landmarks]) + 1
    lines = [header]
    for name, (x, y), (vx, vy) in zip(agents, positions.tolist(), velocities.tolist()):
        lines.append(f"{name:{width}s} at ({x:+.3f}, {y:+.3f}), velocity ({vx:+.3f}, {vy:+.3f})")
    for name, (x, y) in zip(landmarks, landmark_positions.tolist()):
        lines.append(f"{name:{width}s} at ({x:+.3f}, {y:+.3f})")
    return "\n".join(lines) + "\n"
