from marl_envs.core.module import env_module_functions
from marl_envs.envs.reference import __doc__  # noqa: F401  (the env's documentation page)

env, raw_env, parallel_env, make_batched = env_module_functions("reference_v0")
