"""marl_baselines: training algorithms for marl_envs and any PettingZoo ParallelEnv (work in progress)."""
