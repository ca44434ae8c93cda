"""The quick-start job: every registered env, by name, on both APIs, with a table.

    python -m marl_envs.demo [--num-envs 4096] [--seconds 1.0] [--threads 1]

For each env: a seeded random rollout on the PettingZoo API (mean team return, episode
length), the single-env step rate, and the step rate of a batched env of ``--num-envs`` copies.
"""

from __future__ import annotations

import argparse

import torch

import marl_envs
from marl_envs.core.threads import torch_threads
from marl_envs.throughput import batched_rate, pettingzoo_rate, random_rollout


def _space(space) -> str:
    if hasattr(space, "n"):
        return f"Discrete({int(space.n)})"
    if hasattr(space, "spaces"):  # envs with action masks observe {"observation", "action_mask"}
        return f"Box{tuple(space['observation'].shape)} + mask"
    return f"Box{tuple(space.shape)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=4096, help="copies in the batched rollout")
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent measuring each rate")
    parser.add_argument("--episodes", type=int, default=20, help="random episodes per env")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (0: torch's default, one per core; default 1, as marl-train)"
    )
    args = parser.parse_args(argv)
    with torch_threads(args.threads):
        _tour(args)


def _tour(args) -> None:

    header = (
        "env",
        "agents",
        "obs space",
        "action space",
        "state",
        "random return",
        "ep. length",
        "PettingZoo steps/s",
        f"batched env-steps/s (B={args.num_envs})",
    )
    rows = []
    for env_id in marl_envs.list_envs():
        env = marl_envs.make(env_id)
        first = env.possible_agents[0]
        mean_return, mean_length = random_rollout(env, args.episodes, seed=0)
        single = pettingzoo_rate(marl_envs.make(env_id), args.seconds)
        batched = batched_rate(marl_envs.make_batched(env_id, args.num_envs, "cpu"), args.seconds)
        rows.append(
            (
                env_id,
                str(len(env.possible_agents)),
                _space(env.observation_space(first)),
                _space(env.action_space(first)),
                _space(env.state_space),
                f"{mean_return:.2f}",
                f"{mean_length:.1f}",
                f"{single:,.0f}",
                f"{batched:,.0f}",
            )
        )
    print(f"marl_envs demo: {len(rows)} environments, torch {torch.__version__}, {torch.get_num_threads()} threads, CPU\n")
    print(markdown_table(header, rows))


def markdown_table(header, rows) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


if __name__ == "__main__":
    main()
