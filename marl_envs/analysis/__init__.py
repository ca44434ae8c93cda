"""Analysis tools for the envs, outside the envs themselves: the baselines may import them.

* :mod:`marl_envs.analysis.poker_strategies`: fixed (scripted) strategies for ``poker_v0``, as
  action probabilities from a batch of observations and masks;
* :mod:`marl_envs.poker_analysis`: the exact game tree of ``poker_v0`` (information sets, best
  responses, exploitability, equilibria) and the exact evaluation of recurrent policies.
"""
