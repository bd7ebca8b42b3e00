"""Training: typed configs, one resumable loop, the tasks, JSON-lines events, torchrun.

Importing this package is cheap; torch loads with :mod:`hpe_core.training.loop`::

    from hpe_core.training.config import load_config
    from hpe_core.training.loop import run_training
    result = run_training(load_config("resources/presets/simclr_cpu.yaml"), progress, events)
"""
