"""``EpisodeState``: one typed container for an environment's per-sub-env tensors.

Every env of the suite keeps what changes during an episode (positions, cards, stocks...) in
one object, ``env.episode``, of a class that declares each tensor as an annotated field::

    class GoalGridEpisode(EpisodeState):
        positions: torch.Tensor
        \"\"\"int64 ``[B, N, 2]``: each agent's (row, column).\"\"\"
        goals: torch.Tensor
        \"\"\"int64 ``[B, N, 2]``: each agent's goal cell.\"\"\"

The env writes ``self.episode.positions = ...``; writing a name the class does not declare
raises, so no tensor of the episode can live outside the container. The base class treats the
container generically: the sync-free auto-reset replaces every field by
``where(finished, fresh, old)`` (:meth:`marl_envs.BatchedEnv.reset_where`), and pickling copies
it with the env. A field may hold a nested ``EpisodeState`` (an MPE env's episode holds its
particle world's), or None where an instance has no such state (a constructor argument turned
it off). ``batch_dim`` says where the sub-env dimension is (0 by default; the particle world
keeps it last).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch

__all__ = ["EpisodeState"]


class EpisodeState:
    """Base class of an env's episode state: its per-sub-env tensors, declared as annotated fields."""

    batch_dim: ClassVar[int] = 0
    """The sub-env dimension of every tensor field (negative: counted from the end)."""
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                if "ClassVar" not in str(annotation) and not name.startswith("_") and name not in names:
                    names.append(name)
        cls._fields = tuple(names)

    def __init__(self, **values: Any):
        for name, value in values.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._fields:
            raise AttributeError(f"{type(self).__name__} declares no field {name!r}; its fields: {', '.join(self._fields)}")
        object.__setattr__(self, name, value)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The declared field names, in declaration order (base classes first)."""
        return cls._fields

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` of every field; raises if one was never set."""
        for name in self._fields:
            try:
                yield name, self.__dict__[name]
            except KeyError:
                raise AttributeError(f"{type(self).__name__}.{name} was never set: the env's constructor must set every field") from None

    def __repr__(self) -> str:
        def shown(value: Any) -> str:
            if isinstance(value, torch.Tensor):
                return f"{str(value.dtype).removeprefix('torch.')}{list(value.shape)}"
            return repr(value)

        return f"{type(self).__name__}({', '.join(f'{n}={shown(self.__dict__.get(n))}' for n in self._fields)})"
