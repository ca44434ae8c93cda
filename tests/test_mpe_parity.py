"""The MPE envs against mpe2, the reference MPE: whole episodes, step by step.

``cooperative_navigation_v0``, ``predator_prey_v0``, ``speaker_listener_v0``, ``reference_v0``,
``reach_landmark_v0``, ``physical_deception_v0``, ``keep_away_v0``, ``covert_communication_v0``, ``line_formation_v0``, ``circle_formation_v0``, ``predator_prey_comm_v0`` and ``collect_treasure_v0`` each start from the same world as their mpe2 scenario (mpe2's positions, velocities and goals
after its reset are copied into ours: the two draw their starting states from different random
generators),
receive the same random actions for a whole episode (``max_cycles`` steps, several seeds,
discrete and continuous actions), and must agree on every observation, reward,
termination, truncation and state within ``TOLERANCE``. Our physics runs in float64 as
mpe2's does, so the observations in fact agree exactly; rewards differ only by their
rounding to float32.

``collect_treasure_v0`` also draws during the episode (a treasure picked up respawns at a random
place with a random type at the next step). Its draws come from one method, ``draw_respawns``;
before each of our steps the harness replaces it by mpe2's draws of that step (the positions and
types of mpe2's treasures after its own step, which ours uses only for the treasures it
respawns), so both envs respawn alike without either's generator being touched.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl_envs

mpe2 = pytest.importorskip("mpe2")
from mpe2 import (  # noqa: E402
    collect_treasure_v1,
    simple_adversary_v3,
    simple_crypto_v3,
    simple_formation_v1,
    simple_line_v1,
    simple_push_v3,
    simple_reference_v3,
    simple_speaker_listener_v4,
    simple_spread_v3,
    simple_tag_v3,
    simple_v3,
    simple_world_comm_v3,
)

TOLERANCE = 1e-5
REFERENCES = {
    "cooperative_navigation_v0": simple_spread_v3,
    "predator_prey_v0": simple_tag_v3,
    "speaker_listener_v0": simple_speaker_listener_v4,
    "reference_v0": simple_reference_v3,
    "reach_landmark_v0": simple_v3,
    "physical_deception_v0": simple_adversary_v3,
    "keep_away_v0": simple_push_v3,
    "covert_communication_v0": simple_crypto_v3,
    "line_formation_v0": simple_line_v1,
    "circle_formation_v0": simple_formation_v1,
    "predator_prey_comm_v0": simple_world_comm_v3,
    "collect_treasure_v0": collect_treasure_v1,
}
SEEDS = range(8)


def world_of(reference):
    world = reference.unwrapped.world
    agents = np.array([agent.state.p_pos for agent in world.agents])
    velocities = np.array([agent.state.p_vel for agent in world.agents])
    landmarks = np.array([landmark.state.p_pos for landmark in world.landmarks]).reshape(-1, 2)
    return agents, velocities, landmarks


def place_both(reference, ours, agents, velocities, landmarks):
    """Put both envs in the same world (mpe2's float64 arrays are copied as they are)."""
    world = reference.unwrapped.world
    for agent, position, velocity in zip(world.agents, agents, velocities):
        agent.state.p_pos, agent.state.p_vel = np.array(position, np.float64), np.array(velocity, np.float64)
    for landmark, position in zip(world.landmarks, landmarks):
        landmark.state.p_pos = np.array(position, np.float64)
    if hasattr(ours.env, "world"):  # covert_communication keeps no physics: nobody moves or sees a position
        ours.env.world.place(np.asarray(agents)[None], np.asarray(velocities)[None], np.asarray(landmarks).reshape(1, -1, 2))
    copy_goals(reference, ours)


def copy_goals(reference, ours):
    """The goal landmarks mpe2 drew, into ours (the envs that have goals)."""
    world = reference.unwrapped.world
    if ours.metadata["name"] == "line_formation_v0":  # the places mpe2 computed from its direction
        ours.env.episode.places[0] = torch.tensor(np.array(reference.unwrapped.scenario._expected_positions))
        return
    if ours.metadata["name"] == "collect_treasure_v0":  # the treasures' types (nobody holds anything yet)
        ours.env.episode.treasure_type[:, 0] = torch.tensor([landmark.type for landmark in world.landmarks])
        return
    if ours.metadata["name"] == "covert_communication_v0":  # the message is the goal's colour; alice holds the key
        ours.env.episode.message[0] = world.landmarks.index(world.agents[0].goal_a)
        ours.env.episode.key[0] = int(np.argmax(world.agents[2].key))
        return
    if not hasattr(ours.env.episode, "goal"):
        return
    if ours.metadata["name"] in ("physical_deception_v0", "keep_away_v0"):  # one goal, every agent's goal_a
        ours.env.episode.goal[0] = world.landmarks.index(world.agents[0].goal_a)
        return
    goal_of = [
        world.landmarks.index(agent._goal_b) if agent._goal_b is not None else None for agent in world.agents
    ]  # the goal each agent knows
    if ours.env.episode.goal.dim() == 1:  # speaker_listener: the speaker knows the listener's goal
        ours.env.episode.goal[0] = goal_of[0]
    else:  # reference: ours keeps agent i's own goal, which the other agent knows
        ours.env.episode.goal[0] = torch.tensor(goal_of[::-1])


def random_actions(reference, rng, continuous):
    if not continuous:
        return {agent: int(rng.integers(reference.action_space(agent).n)) for agent in reference.agents}
    actions = {}
    for agent in reference.agents:
        size = reference.action_space(agent).shape[0]
        action = rng.uniform(0.0, 1.0, size).astype(np.float32)
        action[rng.random(size) < 0.2] = rng.integers(2)  # the Box's corners too
        actions[agent] = action
    return actions


def run_episode(env_id, continuous, seed, crowd=None, arrange=None, **kwargs):
    """One whole episode in both envs; returns the largest differences seen.

    ``arrange(reference, agents, landmarks) -> agents``: a start of one's own, made from mpe2's.
    """
    reference = REFERENCES[env_id].parallel_env(continuous_actions=continuous, **kwargs)
    ours = marl_envs.make(env_id, continuous_actions=continuous, **kwargs)
    reference.reset(seed=seed)
    ours.reset(seed=seed)
    agents, velocities, landmarks = world_of(reference)
    if crowd is not None:  # squeeze the agents together, so that contact forces and catches are frequent
        agents = agents * crowd
    if arrange is not None:
        agents = arrange(reference, agents, landmarks)
    place_both(reference, ours, agents, velocities, landmarks)
    assert ours.agents == reference.agents

    largest = {"obs": 0.0, "reward": 0.0, "state": 0.0}

    def compare(key, expected, actual):
        expected, actual = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
        assert expected.shape == actual.shape, (key, expected.shape, actual.shape)
        largest[key] = max(largest[key], float(np.max(np.abs(expected - actual), initial=0.0)))

    compare("state", reference.state(), ours.state())  # the starting observations, concatenated
    rng = np.random.default_rng(seed)
    steps = 0
    while reference.agents:
        actions = random_actions(reference, rng, continuous)
        expected = reference.step(actions)
        feed_respawns(reference, ours)
        actual = ours.step(actions)
        steps += 1
        for agent in actions:
            assert actual[0][agent].dtype == np.float32
            compare("obs", expected[0][agent], actual[0][agent])
            compare("reward", expected[1][agent], actual[1][agent])
            assert expected[2][agent] == actual[2][agent], ("terminated", steps, agent)
            assert expected[3][agent] == actual[3][agent], ("truncated", steps, agent)
        assert ours.agents == reference.agents, steps
        if reference.agents:
            compare("state", reference.state(), ours.state())
    assert steps == ours.max_cycles == reference.unwrapped.max_cycles
    return largest


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("env_id", sorted(REFERENCES))
def test_whole_episode_matches_mpe2(env_id, continuous, seed):
    largest = run_episode(env_id, continuous, seed)
    assert max(largest.values()) <= TOLERANCE, largest


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("env_id", sorted(REFERENCES))
def test_crowded_episode_matches_mpe2(env_id, continuous, seed):
    """Agents start within a fifth of the arena: many overlaps, so contact forces and catches dominate."""
    largest = run_episode(env_id, continuous, seed, crowd=0.2)
    assert max(largest.values()) <= TOLERANCE, largest


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("cooperative_navigation_v0", {"N": 1}),
        ("cooperative_navigation_v0", {"N": 5, "local_ratio": 0.2, "max_cycles": 40}),
        ("cooperative_navigation_v0", {"N": 2, "local_ratio": 1.0}),
        # mpe2's partial observability: the nearest landmarks / agents, closest first, zero-padded
        ("cooperative_navigation_v0", {"N": 6, "num_agent_neighbors": 2, "num_landmark_neighbors": 3}),
        ("cooperative_navigation_v0", {"N": 3, "num_agent_neighbors": 4, "num_landmark_neighbors": 5}),
        ("cooperative_navigation_v0", {"N": 4, "num_agent_neighbors": 1}),
        ("predator_prey_v0", {"num_good": 2, "num_adversaries": 4, "num_obstacles": 3}),
        ("predator_prey_v0", {"num_good": 3, "num_adversaries": 1, "num_obstacles": 0, "max_cycles": 40}),
        ("speaker_listener_v0", {"max_cycles": 40}),
        ("reference_v0", {"local_ratio": 0.0}),
        ("reference_v0", {"local_ratio": 0.8, "max_cycles": 30}),
        ("reach_landmark_v0", {"max_cycles": 40}),
        ("keep_away_v0", {"max_cycles": 40}),
        ("covert_communication_v0", {"max_cycles": 40}),
        ("line_formation_v0", {"N": 2}),
        ("line_formation_v0", {"N": 6, "max_cycles": 30}),
        ("circle_formation_v0", {"N": 1}),
        ("circle_formation_v0", {"N": 7}),
        ("physical_deception_v0", {"N": 1}),
        ("physical_deception_v0", {"N": 4, "max_cycles": 30}),
        ("physical_deception_v0", {"N": 4, "num_agent_neighbors": 2, "num_landmark_neighbors": 3}),
        ("physical_deception_v0", {"N": 2, "num_agent_neighbors": 5, "num_landmark_neighbors": 1}),
        ("predator_prey_comm_v0", {"num_good": 3, "num_adversaries": 2, "num_obstacles": 2, "num_food": 3, "num_forests": 3}),
        (
            "predator_prey_comm_v0",
            {"num_good": 1, "num_adversaries": 1, "num_obstacles": 0, "num_food": 1, "num_forests": 0, "max_cycles": 30},
        ),
        # many forests: most agents in one, hidden from some of the others
        ("predator_prey_comm_v0", {"num_good": 2, "num_adversaries": 5, "num_forests": 6}),
        ("collect_treasure_v0", {"num_collectors": 1, "num_deposits": 1, "num_treasures": 1}),
        ("collect_treasure_v0", {"num_collectors": 3, "num_deposits": 6, "num_treasures": 2, "max_cycles": 40}),
        # many treasures and a long episode: pickups and respawns in every episode (see the test at the end)
        ("collect_treasure_v0", {"num_collectors": 8, "num_deposits": 3, "num_treasures": 24, "max_cycles": 80}),
    ],
    ids=str,
)
@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_other_arguments_match_mpe2(env_id, kwargs, continuous):
    for seed in range(3):
        largest = run_episode(env_id, continuous, seed, **kwargs)
        assert max(largest.values()) <= TOLERANCE, (seed, largest)


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("env_id", sorted(REFERENCES))
def test_names_spaces_and_defaults_match_mpe2(env_id, continuous):
    reference = REFERENCES[env_id].parallel_env(continuous_actions=continuous)
    ours = marl_envs.make(env_id, continuous_actions=continuous)
    assert ours.possible_agents == reference.possible_agents
    for agent in reference.possible_agents:
        assert ours.action_space(agent) == reference.action_space(agent)
        assert ours.observation_space(agent) == reference.observation_space(agent)
    assert ours.state_space == reference.state_space
    assert ours.max_cycles == reference.unwrapped.max_cycles == 25
    default = marl_envs.make(env_id)
    assert all(hasattr(default.action_space(agent), "n") for agent in default.possible_agents), "discrete by default"


def test_same_arguments_as_mpe2():
    """Users switch by changing the import: every argument we take, mpe2 takes under the same name and default."""
    import inspect

    for env_id, reference in REFERENCES.items():
        theirs = inspect.signature(reference.raw_env.__init__).parameters
        for name, default in marl_envs.spec(env_id).arguments.items():
            if name in ("validate_actions", "sync_free"):  # ours only: every env of the suite has them
                continue
            if name == "silence_channel":  # ours only: the communication ablation (False: mpe2's channel)
                assert default is False, (env_id, name)
                continue
            if name == "comm_radius":  # ours only: the agent graph for graph agents (None: no graph, as mpe2)
                assert default is None, (env_id, name)
                continue
            assert name in theirs and theirs[name].default == default, (env_id, name)


def feed_respawns(reference, ours):
    """collect_treasure: ours respawns its treasures where mpe2 just did (mpe2 has stepped, ours not yet).

    mpe2 draws its respawns from its own NumPy generator, ours from its counter-based streams;
    ours takes them from ``draw_respawns``, replaced here by mpe2's treasures after its step. Ours
    uses them only for the treasures it respawns, the ones picked up at the last step: were its
    pickups not mpe2's, the next observations would differ.
    """
    if ours.metadata["name"] != "collect_treasure_v0":
        return
    world = reference.unwrapped.world
    positions = torch.tensor(np.array([landmark.state.p_pos for landmark in world.landmarks]))[None]
    types = torch.tensor([landmark.type for landmark in world.landmarks])[None]
    ours.env.draw_respawns = lambda: (positions, types)


def staged_treasures(reference, agents, landmarks):
    """collect_treasure: collector i on treasure i, and deposit d beside the first of those of type d,
    so that the first step has a pickup by every collector, deliveries in the same step, and respawns after."""
    world = reference.unwrapped.world
    agents, C = np.array(agents), world.num_collectors
    agents[:C] = landmarks[:C]
    for d in range(world.num_deposits):
        mine = [t for t in range(C) if world.landmarks[t].type == d]
        if mine:
            agents[C + d] = landmarks[mine[0]] + [0.05, 0.0]
    return agents


STAGED = {"num_collectors": 4, "num_deposits": 2, "num_treasures": 6, "max_cycles": 30}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_collect_treasure_staged_episode_matches_mpe2(continuous, seed):
    """Every collector starts on a treasure and some deposits beside them: pickups, same-step deliveries, respawns."""
    largest = run_episode("collect_treasure_v0", continuous, seed, arrange=staged_treasures, **STAGED)
    assert max(largest.values()) <= TOLERANCE, largest


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_collect_treasure_parity_episodes_pick_up_deliver_and_respawn(continuous):
    """The parity episodes above compare the treasure rules, not only the motion: in mpe2, with the
    same starts and actions, the staged episodes see pickups, deliveries and respawns, the long
    many-treasure ones pickups and respawns, and the crowded default ones overlapping collectors."""
    staged = [mpe2_treasure_events(continuous, seed, staged_treasures, **STAGED) for seed in range(4)]
    assert all(events["pickups"] >= 4 and events["respawns"] >= 4 for events in staged), staged
    assert sum(events["deliveries"] for events in staged) >= 3, staged
    kwargs = {"num_collectors": 8, "num_deposits": 3, "num_treasures": 24, "max_cycles": 80}
    long_runs = [mpe2_treasure_events(continuous, seed, None, **kwargs) for seed in range(3)]
    assert all(events["pickups"] >= 1 and events["respawns"] >= 1 for events in long_runs), long_runs
    crowded = [mpe2_treasure_events(continuous, seed, lambda reference, agents, landmarks: agents * 0.2) for seed in range(4)]
    assert sum(events["overlaps"] > 0 for events in crowded) >= 3, crowded


def mpe2_treasure_events(continuous, seed, arrange, **kwargs):
    """Pickups, deliveries, respawns and steps with overlapping collectors in mpe2's collect_treasure
    episode that ``run_episode`` plays with these arguments."""
    reference = collect_treasure_v1.parallel_env(continuous_actions=continuous, **kwargs)
    reference.reset(seed=seed)
    if arrange is not None:
        agents, _, landmarks = world_of(reference)
        for agent, position in zip(reference.unwrapped.world.agents, arrange(reference, agents, landmarks)):
            agent.state.p_pos = np.array(position, np.float64)
    world, scenario = reference.unwrapped.world, reference.unwrapped.scenario
    collectors = scenario.collectors(world)
    events = {"pickups": 0, "deliveries": 0, "respawns": 0, "overlaps": 0}
    rng = np.random.default_rng(seed)
    while reference.agents:
        alive = [landmark.alive for landmark in world.landmarks]
        reference.step(random_actions(reference, rng, continuous))
        events["respawns"] += sum(not was and landmark.alive for was, landmark in zip(alive, world.landmarks))
        events["pickups"] += sum(was and not landmark.alive for was, landmark in zip(alive, world.landmarks))
        events["deliveries"] += int(scenario._cached_global_deposit // 5)  # mpe2 pays 5 per delivery
        events["overlaps"] += any(scenario._is_collision(a, b) for a in collectors for b in collectors if a is not b)
    return events
