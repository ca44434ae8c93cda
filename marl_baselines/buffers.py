"""Experience storage on the training device, with no Python loop over transitions.

* :class:`EpisodeBuffer`: a replay buffer of whole episodes (for recurrent agents and for
  n-step / TD(lambda) targets). B envs run out of step with each other; each writes into its
  own staging row, and an episode moves into the ring buffer in the step it ends.
* :class:`RolloutBuffer`: on-policy storage ``[T, B, ...]`` with generalised advantage estimation.
* :class:`TransitionBuffer`: a ring buffer of single transitions (for off-policy learners with
  feed-forward agents, such as MADDPG and SAC), with fields named by the algorithm;
  :func:`transition_fields` and :func:`transition_record` are the fields those learners store.

Per-episode layout (T = the longest episode, N agents, O obs size, S state size, A actions):
``obs [T+1, N, O]``, ``state [T+1, S]``, ``alive [T+1, N]``, ``action_mask [T+1, N, A]``
(when the env has masks), ``actions [T, N]`` (or ``[T, N, A]`` continuous), ``reward [T, N]``,
``terminal [T]`` (the episode ended in a terminal state at step t: no bootstrap),
``filled [T]`` (step t exists). Index t+1 holds the observation *after* step t: at the last
step that is the env's ``final_obs`` (never the next episode's first observation).

The replay buffers grow with what they hold rather than being allocated for ``capacity`` (and,
for episodes, ``max_length`` steps each) up front: a dimension that is too small is reallocated at
least doubled (a run copies O(log capacity) times), up to its limit, keeping its contents (see
:func:`_grown`). Their ``state_dict`` holds only the stored part, so a checkpoint's size follows
what the buffer holds (e.g. 1,000 two-step episodes, not room for 5,000 of 1,000 steps).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from marl_envs import EnvStep

__all__ = ["EpisodeBatch", "EpisodeBuffer", "RolloutBuffer", "TransitionBuffer", "transition_fields", "transition_record"]

# Per-episode fields with one entry per step (T); the others hold one per observation (T + 1).
_STEP_FIELDS = frozenset({"actions", "reward", "terminal", "filled"})


def _grown(size: int, needed: int, limit: int) -> int:
    """The new size of a buffer dimension that must hold ``needed`` entries: unchanged when it does,
    else at least doubled (so filling it costs O(log limit) reallocations) and at most ``limit``."""
    return size if needed <= size else min(limit, max(needed, 2 * size))


def _zeros_holding(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, source: torch.Tensor | None) -> torch.Tensor:
    """A zero tensor of ``shape`` with ``source`` (no larger in any dimension) copied into its leading
    corner: how the buffers grow, and how they load a state_dict that holds only their filled part."""
    tensor = torch.zeros(shape, dtype=dtype, device=device)
    if source is not None and source.numel():
        tensor[tuple(slice(0, n) for n in source.shape)].copy_(source)
    return tensor


class EpisodeBatch(NamedTuple):
    """Sampled episodes, cut to the longest one in the batch (L steps)."""

    obs: torch.Tensor  # [batch, L+1, N, O]
    state: torch.Tensor  # [batch, L+1, S]
    alive: torch.Tensor  # [batch, L+1, N]
    action_mask: torch.Tensor | None  # [batch, L+1, N, A]
    actions: torch.Tensor  # [batch, L, N] or [batch, L, N, A]
    reward: torch.Tensor  # [batch, L, N]
    terminal: torch.Tensor  # [batch, L]
    filled: torch.Tensor  # [batch, L]
    learn: torch.Tensor | None = None  # [batch, L]: steps that enter the loss (None: every filled step)

    @property
    def trained(self) -> torch.Tensor:
        """bool ``[batch, L]``: the steps a loss should count (``learn``, or every filled step)."""
        return self.filled if self.learn is None else self.learn


def episode_ended(out: EnvStep) -> torch.Tensor:
    """bool ``[B]``: every agent of the sub-env terminated or was truncated at this step."""
    return (out.terminated | out.truncated).all(-1)


class EpisodeBuffer:
    """Ring buffer of ``capacity`` whole episodes of at most ``max_length`` steps, fed by ``num_envs`` envs.

    ``sync_free`` (None: on for every device but the CPU) keeps ``add`` and ``sample`` free of
    host-device syncs: a step's finished episodes are committed with ``torch.where`` (every staging
    row is copied, the unfinished ones into a scratch slot: more copying, no waiting), the slot
    pointer and size stay on the device, ``holds_at_least`` answers from a host-side lower bound, and
    ``sample`` returns every allocated step. The stored episodes are the same either way.

    Storage grows with the episodes seen (:func:`_grown`): ``rows`` episode slots of ``length``
    steps are allocated, starting from none, and ``add`` widens them before they are needed. The
    host decides how far without reading the device: with host-side bookkeeping it knows how many
    episodes end and how long the longest staged one is; sync-free, it uses upper bounds that count
    steps (each env ends at most one episode per step, and an episode has at most as many steps as
    were taken since ``start``, or ``max_length``). Host-side, storage thus stays within twice what
    is held; sync-free, it reaches ``capacity`` slots of ``max_length`` steps after
    ``capacity / num_envs`` and ``max_length`` steps. ``state_dict`` holds only the stored and
    staged episodes, cut to the longest of them, either way.
    """

    def __init__(
        self,
        capacity: int,
        max_length: int,
        num_envs: int,
        n_agents: int,
        obs_size: int,
        state_size: int,
        action_shape: tuple[int, ...] = (),
        action_dtype: torch.dtype = torch.int64,
        n_actions_masked: int | None = None,
        device: torch.device | str = "cpu",
        sync_free: bool | None = None,
    ):
        self.capacity, self.max_length, self.num_envs, self.device = capacity, max_length, num_envs, torch.device(device)
        self.sync_free = self.device.type != "cpu" if sync_free is None else bool(sync_free)
        N = n_agents
        # name -> (shape of one step's entry, dtype); the time dimension follows the episode dimension.
        self._fields: dict[str, tuple[tuple[int, ...], torch.dtype]] = {
            "obs": ((N, obs_size), torch.float32),
            "state": ((state_size,), torch.float32),
            "alive": ((N,), torch.bool),
            "actions": ((N, *action_shape), action_dtype),
            "reward": ((N,), torch.float32),
            "terminal": ((), torch.bool),
            "filled": ((), torch.bool),
        }
        if n_actions_masked is not None:
            self._fields["action_mask"] = ((N, n_actions_masked), torch.bool)
        # Allocated so far: `rows` episode slots (plus, sync-free, a scratch slot that takes the
        # unfinished staging rows at each commit) of `length` steps; staging has `length` steps too.
        self.rows, self.length = 0, 1
        self.storage = self._allocate(self.rows + self.sync_free, self.length)
        self.staging = self._allocate(num_envs, self.length)
        self.step_index = torch.zeros(num_envs, dtype=torch.int64, device=self.device)
        self._rows = torch.arange(num_envs, device=self.device)
        # `filled[rows, t] = True` would copy the number to the device with a sync on CUDA: write this instead
        self._every_env = torch.ones(num_envs, dtype=torch.bool, device=self.device)
        # Host ints, or device tensors in sync-free mode.
        self.next_slot: int | torch.Tensor = torch.zeros((), dtype=torch.int64, device=self.device) if self.sync_free else 0
        self.size: int | torch.Tensor = torch.zeros((), dtype=torch.int64, device=self.device) if self.sync_free else 0
        self._steps_since_start = 0
        self._most_stored = 0  # sync-free: a host-side upper bound of `size`

    def _allocate(self, lead: int, length: int, source: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Zeroed fields of ``lead`` episodes of ``length`` steps, holding ``source`` (fields no larger) in their leading corner."""
        return {
            name: _zeros_holding(
                (lead, length + (name not in _STEP_FIELDS), *shape), dtype, self.device, None if source is None else source[name]
            )
            for name, (shape, dtype) in self._fields.items()
        }

    def _reserve(self, episodes: int, length: int) -> None:
        """Make room for ``episodes`` stored episodes (at most ``capacity``) and staged or stored
        episodes of ``length`` steps (at most ``max_length``), keeping what is held. No host read."""
        rows, length = _grown(self.rows, episodes, self.capacity), _grown(self.length, length, self.max_length)
        if length != self.length:
            self.staging = self._allocate(self.num_envs, length, self.staging)
        if (rows, length) != (self.rows, self.length):
            held = {name: tensor[: self.rows] for name, tensor in self.storage.items()}  # not the scratch slot
            self.storage = self._allocate(rows + self.sync_free, length, held)
            self.rows, self.length = rows, length

    def __len__(self) -> int:
        """The number of stored episodes (in sync-free mode this reads a device counter: it syncs)."""
        return int(self.size)

    def holds_at_least(self, count: int) -> bool:
        """Whether ``count`` whole episodes are stored, decided on the host without waiting for the device.

        In sync-free mode the host knows only a lower bound: every env finishes an episode at
        least every ``max_length`` steps, so ``num_envs * (steps // max_length)`` episodes are
        stored (at most ``capacity``). Learning may therefore start a little later there.
        """
        if not self.sync_free:
            return self.size >= count
        return min(self.capacity, self.num_envs * (self._steps_since_start // self.max_length)) >= count

    def start(self, out: EnvStep) -> None:
        """Begin staging the episodes that ``out`` (from ``reset``) starts in every env."""
        for tensor in self.staging.values():
            tensor.zero_()
        self.step_index.zero_()
        self._steps_since_start = 0
        self._write_first(self._rows, out)

    def _write_first(self, rows: torch.Tensor, out: EnvStep) -> None:
        s = self.staging
        s["obs"][rows, 0] = out.obs[rows]
        s["state"][rows, 0] = out.state[rows]
        s["alive"][rows, 0] = out.alive[rows]
        if "action_mask" in s:
            s["action_mask"][rows, 0] = out.action_mask[rows]

    def add(self, actions: torch.Tensor, out: EnvStep) -> None:
        """Record the step every env just took with ``actions``; the episodes that ended move into storage."""
        ended = episode_ended(out)
        # First make room for the step written now (step t, its next observation at t + 1) and
        # for the episodes that end with it.
        if self.sync_free:
            # Host bounds: t <= the steps taken since start (and < max_length: see the clamp below);
            # each env ends at most one episode.
            self._most_stored = min(self.capacity, self._most_stored + self.num_envs)
            self._reserve(self._most_stored, min(self.max_length - 1, self._steps_since_start) + 1)
        else:
            done = ended.nonzero().squeeze(-1)
            longest = int(self.step_index.max())
            if longest >= self.max_length:
                raise ValueError(f"an episode ran past max_length={self.max_length} steps; give the buffer the env's episode limit")
            self._reserve(min(self.capacity, self.size + done.numel()), longest + 1)
        s, rows, t = self.staging, self._rows, self.step_index
        s["actions"][rows, t] = actions
        s["reward"][rows, t] = out.reward
        s["terminal"][rows, t] = ended & ~out.truncated.any(-1)
        s["filled"][rows, t] = self._every_env
        s["obs"][rows, t + 1] = out.final_obs
        s["state"][rows, t + 1] = out.final_state
        s["alive"][rows, t + 1] = ~(out.terminated | out.truncated)
        if "action_mask" in s:
            # The mask at the final observation is not reported; a terminal step needs none, and
            # after a truncation the bootstrap may consider every action.
            s["action_mask"][rows, t + 1] = torch.where(ended[:, None, None], True, out.action_mask)
        self.step_index = t + 1
        self._steps_since_start += 1
        if self.sync_free:
            # An episode longer than max_length cannot be reported here without a sync: its steps
            # past the limit land in the last row (the env's own max_cycles prevents this).
            self.step_index.clamp_(max=self.max_length - 1)
            self._commit_all(ended, out)
        elif done.numel():
            self._commit(done, out)

    def _commit(self, done: torch.Tensor, out: EnvStep) -> None:
        count = done.numel()
        slots = (self.next_slot + torch.arange(count, device=self.device)) % self.capacity
        for name, tensor in self.staging.items():
            self.storage[name][slots] = tensor[done]
            tensor[done] = 0
        self.next_slot = (self.next_slot + count) % self.capacity
        self.size = min(self.size + count, self.capacity)
        self.step_index[done] = 0
        self._write_first(done, out)

    def _commit_all(self, ended: torch.Tensor, out: EnvStep) -> None:
        """``_commit`` without reading ``ended`` on the host: the same slots, in the same order.

        Every staging row is copied; finished episodes go to the next free slots (in env order,
        as ``_commit`` does), the others to the scratch slot ``rows``.
        """
        rank = ended.cumsum(0) - 1
        slots = torch.where(ended, (self.next_slot + rank) % self.capacity, self.rows)
        for name, tensor in self.staging.items():
            self.storage[name][slots] = tensor
            tensor.masked_fill_(ended.view(-1, *(1,) * (tensor.dim() - 1)), 0)
        count = ended.sum()
        self.next_slot = (self.next_slot + count) % self.capacity
        self.size = (self.size + count).clamp(max=self.capacity)
        self.step_index.masked_fill_(ended, 0)
        s, first = self.staging, ended.view(-1, 1)
        s["obs"][:, 0] = torch.where(first[..., None], out.obs, s["obs"][:, 0])
        s["state"][:, 0] = torch.where(first, out.state, s["state"][:, 0])
        s["alive"][:, 0] = torch.where(first, out.alive, s["alive"][:, 0])
        if "action_mask" in s:
            s["action_mask"][:, 0] = torch.where(first[..., None], out.action_mask, s["action_mask"][:, 0])

    def _sample_index(self, batch_size: int, generator: torch.Generator | None) -> torch.Tensor:
        """``batch_size`` stored episodes, uniformly with replacement (drawn with ``generator``, which lives on the buffer's device)."""
        if self.sync_free:
            # size is a device tensor: scale uniforms on the device instead of asking the host for it
            draw = torch.rand(batch_size, generator=generator, device=self.device, dtype=torch.float64)
            return (draw * self.size.clamp(min=1)).long().clamp(max=self.size.clamp(min=1) - 1)
        if self.size == 0:
            raise ValueError("the buffer holds no complete episode yet")
        return torch.randint(self.size, (batch_size,), generator=generator, device=self.device)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> EpisodeBatch:
        """Whole episodes, cut to the longest one sampled (sync-free mode keeps all ``length``
        allocated steps: finding the longest would make the host wait; the padding is masked by ``filled``)."""
        index = self._sample_index(batch_size, generator)
        picked = {name: tensor[index] for name, tensor in self.storage.items()}
        length = self.length if self.sync_free else int(picked["filled"].sum(1).max())
        picked = {k: v[:, : length if k in _STEP_FIELDS else length + 1] for k, v in picked.items()}
        return EpisodeBatch(
            picked["obs"],
            picked["state"],
            picked["alive"],
            picked.get("action_mask"),
            picked["actions"],
            picked["reward"],
            picked["terminal"],
            picked["filled"],
        )

    def sample_chunks(self, batch_size: int, chunk_length: int, burn_in: int = 0, generator: torch.Generator | None = None) -> EpisodeBatch:
        """Fixed-length pieces of stored episodes, for recurrent agents (R2D2's stored sequences).

        Each row takes one episode (uniformly) and one of its ``chunk_length``-step chunks
        (uniformly among the chunks that hold a step: steps 0..c-1, c..2c-1, ...), preceded by up
        to ``burn_in`` earlier steps of the same episode. A recurrent network replays the window
        from a zero hidden state; the burn-in steps only warm that state up: ``learn`` marks the
        chunk's own filled steps, the ones a loss should count. Windows are ``burn_in +
        chunk_length`` steps long; rows whose episode ends early (or whose burn-in is cut by the
        episode's start, which comes first in the row) are padded with ``filled`` False.
        """
        if chunk_length < 1 or burn_in < 0:
            raise ValueError(f"chunk_length must be >= 1 and burn_in >= 0, got chunk_length={chunk_length}, burn_in={burn_in}")
        index = self._sample_index(batch_size, generator)
        lengths = self.storage["filled"][index].sum(1)  # [batch] >= 1
        chunks = (lengths + chunk_length - 1) // chunk_length
        draw = torch.rand(batch_size, generator=generator, device=self.device)
        start = (draw * chunks).long().clamp(max=chunks - 1) * chunk_length  # the chunk's first step
        first = (start - burn_in).clamp(min=0)  # the window's first step
        window = first[:, None] + torch.arange(burn_in + chunk_length + 1, device=self.device)  # [batch, W+1]
        obs_steps = window.clamp(max=self.max_length)  # observation t+1 follows step t
        inside = window[:, :-1] < self.max_length
        steps = window[:, :-1].clamp(max=self.max_length - 1)
        rows = index[:, None]

        picked = {}
        for name, tensor in self.storage.items():
            at, last = (steps, self.length - 1) if name in _STEP_FIELDS else (obs_steps, self.length)
            # Past the allocated steps every stored episode is padding (zeros): read them as such.
            beyond = (at > last).view(*at.shape, *(1,) * (tensor.dim() - 2))
            picked[name] = tensor[rows, at.clamp(max=last)].masked_fill(beyond, 0)
        filled = picked["filled"] & inside
        learn = filled & (steps >= start[:, None]) & (steps < (start + chunk_length)[:, None])
        return EpisodeBatch(
            picked["obs"],
            picked["state"],
            picked["alive"],
            picked.get("action_mask"),
            picked["actions"],
            picked["reward"],
            picked["terminal"] & filled,
            filled,
            learn,
        )

    def state_dict(self) -> dict:
        """The stored episodes and the staged ones, cut to the longest of them (copies: a view would
        save its whole storage), the counters and the allocated shape (``rows``, ``length``), which
        ``load_state_dict`` restores: what sync-free ``sample`` returns depends on it."""
        size = int(self.size)
        held = max(int(self.storage["filled"][:size].sum(1).max()) if size else 0, int(self.step_index.max()))

        def cut(fields: dict[str, torch.Tensor], count: int) -> dict[str, torch.Tensor]:
            return {name: tensor[:count, : held + (name not in _STEP_FIELDS)].clone() for name, tensor in fields.items()}

        return {
            "storage": cut(self.storage, size),
            "staging": cut(self.staging, self.num_envs),
            "step_index": self.step_index.clone(),
            "next_slot": int(self.next_slot),
            "size": size,
            "steps_since_start": self._steps_since_start,
            "rows": self.rows,
            "length": self.length,
            "most_stored": self._most_stored,
        }

    def load_state_dict(self, state: dict) -> None:
        # Checkpoints from before the buffers grew hold the whole preallocated storage and no "rows".
        self.rows, self.length = state.get("rows", self.capacity), state.get("length", self.max_length)
        self.storage = self._allocate(self.rows + self.sync_free, self.length, state["storage"])
        self.staging = self._allocate(self.num_envs, self.length, state["staging"])
        self.step_index.copy_(state["step_index"])
        self._steps_since_start = state.get("steps_since_start", 0)
        self._most_stored = state.get("most_stored", self.rows)
        if self.sync_free:
            self.next_slot = torch.tensor(state["next_slot"], dtype=torch.int64, device=self.device)
            self.size = torch.tensor(state["size"], dtype=torch.int64, device=self.device)
        else:
            self.next_slot, self.size = state["next_slot"], state["size"]


class RolloutBuffer:
    """On-policy storage of ``steps`` vectorised steps of ``num_envs`` envs: ``[T, B, N, ...]``.

    ``add`` one step at a time; ``advantages(last_value)`` computes GAE(gamma, lambda) returns,
    bootstrapping through truncations with the value of ``final_obs`` (``final_value``).
    """

    def __init__(
        self,
        steps: int,
        num_envs: int,
        n_agents: int,
        device: torch.device | str = "cpu",
        extra: dict[str, tuple[tuple[int, ...], torch.dtype]] | None = None,
    ):
        self.steps, self.device = steps, torch.device(device)
        shape = (steps, num_envs, n_agents)
        self.reward = torch.zeros(shape, device=self.device)
        self.value = torch.zeros(shape, device=self.device)
        self.final_value = torch.zeros(shape, device=self.device)  # value of the observation after the step
        self.terminated = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.ended = torch.zeros(shape, dtype=torch.bool, device=self.device)  # terminated or truncated
        # What an algorithm stores besides (obs, actions, log-probabilities, ...): name -> (shape of one
        # vectorised step, dtype), kept as ``[steps, *shape]``.
        self.extra = {
            name: torch.zeros(steps, *step_shape, dtype=dtype, device=self.device) for name, (step_shape, dtype) in (extra or {}).items()
        }
        self.position = 0

    def add(
        self,
        value: torch.Tensor,
        reward: torch.Tensor,
        final_value: torch.Tensor,
        terminated: torch.Tensor,
        truncated: torch.Tensor,
        **extra: torch.Tensor,
    ) -> None:
        """All ``[B, N]``: V(obs_t), r_t, V(final_obs_t) (0 where terminated), and the end flags of step t;
        ``extra``: this step's entry of every field declared with ``extra`` at construction."""
        t = self.position
        if t >= self.steps:
            raise ValueError(f"the rollout buffer is full ({self.steps} steps); clear() it first")
        if set(extra) != set(self.extra):
            raise ValueError(f"expected the extra fields {sorted(self.extra)}, got {sorted(extra)}")
        self.value[t], self.reward[t], self.final_value[t] = value, reward, final_value
        self.terminated[t], self.ended[t] = terminated, terminated | truncated
        for name, tensor in extra.items():
            self.extra[name][t] = tensor
        self.position = t + 1

    @property
    def full(self) -> bool:
        return self.position == self.steps

    def advantages(self, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
        """GAE advantages and returns ``[T, B, N]`` over the filled steps.

        delta_t = r_t + gamma * V(s'_t) * (1 - terminated_t) - V(s_t), where s'_t is the observation
        after step t (the final one at an episode end); the recursion stops at episode ends.
        """
        T = self.position
        advantages = torch.zeros_like(self.reward[:T])
        running = torch.zeros_like(self.reward[0])
        for t in reversed(range(T)):
            bootstrap = self.final_value[t] * ~self.terminated[t]
            delta = self.reward[t] + gamma * bootstrap - self.value[t]
            running = delta + gamma * lam * running * ~self.ended[t]
            advantages[t] = running
        return advantages, advantages + self.value[:T]

    def clear(self) -> None:
        self.position = 0

    def state_dict(self) -> dict:
        return {
            "reward": self.reward,
            "value": self.value,
            "final_value": self.final_value,
            "terminated": self.terminated,
            "ended": self.ended,
            "extra": self.extra,
            "position": self.position,
        }

    def load_state_dict(self, state: dict) -> None:
        for name in ("reward", "value", "final_value", "terminated", "ended"):
            getattr(self, name).copy_(state[name])
        for name, tensor in self.extra.items():
            tensor.copy_(state["extra"][name])
        self.position = state["position"]


class TransitionBuffer:
    """Ring buffer of ``capacity`` single transitions on ``device``, grown as transitions arrive.

    ``fields`` maps a name to (the shape of one transition's entry, dtype), e.g.
    ``{"obs": ((N, O), torch.float32), "reward": ((N,), torch.float32)}``. ``add`` writes a batch
    of B transitions (every field ``[B, *shape]``) in one op; ``sample`` draws uniformly with
    replacement and returns a dict of ``[batch, *shape]`` tensors. Storage holds ``rows`` slots,
    from none up to ``capacity`` (:func:`_grown`: ``add`` knows on the host how many transitions
    come, so growing needs no device read); ``state_dict`` holds the ``size`` stored transitions.
    """

    def __init__(self, capacity: int, fields: dict[str, tuple[tuple[int, ...], torch.dtype]], device: torch.device | str = "cpu"):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity, self.device = capacity, torch.device(device)
        self._fields = dict(fields)
        self.rows = 0
        self.storage = self._allocate(0)
        self.next_slot = 0
        self.size = 0

    def _allocate(self, rows: int, source: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Zeroed fields of ``rows`` transitions, holding ``source`` (no more rows) in their first rows."""
        return {
            name: _zeros_holding((rows, *shape), dtype, self.device, None if source is None else source[name])
            for name, (shape, dtype) in self._fields.items()
        }

    def __len__(self) -> int:
        return self.size

    def add(self, **fields: torch.Tensor) -> None:
        """Store B transitions: one ``[B, *shape]`` tensor per field declared at construction."""
        if set(fields) != set(self.storage):
            raise ValueError(f"expected the fields {sorted(self.storage)}, got {sorted(fields)}")
        count = next(iter(fields.values())).shape[0]
        if count > self.capacity:
            raise ValueError(f"cannot add {count} transitions to a buffer of capacity {self.capacity}")
        rows = _grown(self.rows, self.size + count, self.capacity)  # the ring wraps only once all capacity slots exist
        if rows != self.rows:
            self.storage, self.rows = self._allocate(rows, self.storage), rows
        slots = (self.next_slot + torch.arange(count, device=self.device)) % self.capacity
        for name, tensor in fields.items():
            self.storage[name][slots] = tensor.to(self.storage[name].dtype)
        self.next_slot = (self.next_slot + count) % self.capacity
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``batch_size`` transitions drawn uniformly (with replacement) with ``generator`` (on ``device``)."""
        if self.size == 0:
            raise ValueError("the buffer holds no transition yet")
        index = torch.randint(self.size, (batch_size,), generator=generator, device=self.device)
        return {name: tensor[index] for name, tensor in self.storage.items()}

    def state_dict(self) -> dict:
        """The ``size`` stored transitions (copies: a view would save its whole storage), the counters and ``rows``."""
        return {
            "storage": {name: tensor[: self.size].clone() for name, tensor in self.storage.items()},
            "next_slot": self.next_slot,
            "size": self.size,
            "rows": self.rows,
        }

    def load_state_dict(self, state: dict) -> None:
        # Checkpoints from before the buffer grew hold all capacity rows and no "rows".
        self.rows = state.get("rows", self.capacity)
        self.storage = self._allocate(self.rows, state["storage"])
        self.next_slot, self.size = state["next_slot"], state["size"]


def transition_fields(
    n_agents: int, obs_size: int, state_size: int, action_size: int, masks: bool, graph: bool
) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The :class:`TransitionBuffer` fields of the off-policy actor-critics (MADDPG, MATD3, SAC):
    obs, state, actions ``[N, A]`` (one-hot when discrete), reward ``[N]``, the observation and state
    after the step, terminated ``[N]``, alive before and after, and, with ``masks`` / ``graph``, the
    action masks and the agent graph before and after (see :func:`transition_record`)."""
    N = n_agents
    fields = {
        "obs": ((N, obs_size), torch.float32),
        "state": ((state_size,), torch.float32),
        "actions": ((N, action_size), torch.float32),
        "reward": ((N,), torch.float32),
        "next_obs": ((N, obs_size), torch.float32),
        "next_state": ((state_size,), torch.float32),
        "terminated": ((N,), torch.bool),
        "alive": ((N,), torch.bool),
        "next_alive": ((N,), torch.bool),
    }
    if masks:
        fields["action_mask"] = ((N, action_size), torch.bool)
        fields["next_action_mask"] = ((N, action_size), torch.bool)
    if graph:
        fields["adjacency"] = ((N, N), torch.bool)
        fields["next_adjacency"] = ((N, N), torch.bool)
    return fields


def transition_record(before: EnvStep, actions: torch.Tensor, after: EnvStep, masks: bool, graph: bool) -> dict[str, torch.Tensor]:
    """The fields of :func:`transition_fields` for the step from ``before`` to ``after`` taken with
    ``actions [B, N, A]`` (one-hot when discrete; zeroed for agents not alive). The observation
    after the step is the env's ``final_obs``/``final_state``, never the next episode's first one."""
    ended = episode_ended(after)
    # Agents that stay in the (auto-reset) new episode are alive next; those of an ended one
    # count as alive at their final observation unless they terminated (a truncation bootstraps).
    next_alive = torch.where(ended[:, None], before.alive & ~after.terminated, after.alive)
    fields = dict(
        obs=before.obs,
        state=before.state,
        actions=actions * before.alive[..., None],
        reward=after.reward,
        next_obs=after.final_obs,
        next_state=after.final_state,
        terminated=after.terminated,
        alive=before.alive,
        next_alive=next_alive,
    )
    if masks:
        fields["action_mask"] = before.action_mask
        # The mask at a final observation is not reported: after a truncation every action may be considered.
        fields["next_action_mask"] = torch.where(ended[:, None, None], True, after.action_mask)
    if graph:
        # The graph at a final observation is not reported: the episode's last one stands in for it.
        fields["adjacency"] = before.adjacency
        fields["next_adjacency"] = torch.where(ended[:, None, None], before.adjacency, after.adjacency)
    return fields
