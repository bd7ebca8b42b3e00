"""UMAP with its numba compilation kept on disk, so a new process projects without the warm-up.

umap-learn compiles its numba functions on first use in every process (about ten seconds on two
cores); pynndescent marks its own functions ``cache=True`` but umap's layout, fuzzy-set and
random-number functions are compiled afresh each time. :func:`import_umap`:

- points numba's cache at ``<cache root>/numba`` (``NUMBA_CACHE_DIR``, see
  :mod:`hpe_core.cache_dirs`) when numba is not imported yet, so the cache lives in a per-user
  folder rather than next to the installed packages (which may not be writable);
- turns caching on (``Dispatcher.enable_caching``) for every numba function of umap-learn that
  lacks it, before anything is compiled, so the first fit in any process writes them and later
  processes load them (a function numba cannot cache is left compiling as before).

:func:`warm_up` fits a tiny map, which compiles (first time) or loads (afterwards) everything a
fit needs, e.g. in a background thread when an application starts.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings

_lock = threading.Lock()
_UMAP_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances", "umap.sparse",
                 "umap.spectral", "umap.parametric_umap")


def numba_cache_dir():
    from hpe_core.cache_dirs import cache_root

    return cache_root() / "numba"


def import_numba():
    """``import numba`` with its on-disk cache in the per-user folder (set before numba loads)."""
    with _lock:
        if "numba" not in sys.modules and not os.environ.get("NUMBA_CACHE_DIR"):
            os.environ["NUMBA_CACHE_DIR"] = str(numba_cache_dir())
        import numba

        return numba


def import_umap():
    """``import umap`` with on-disk caching of its numba functions (idempotent, thread-safe)."""
    import_numba()
    with _lock:
        import umap

        enable_caching(_UMAP_MODULES)
        return umap


def enable_caching(module_names) -> list[str]:
    """Turn on-disk caching on for the numba functions of the (imported) modules that lack it;
    return their names."""
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    done = []
    for name in module_names:
        module = sys.modules.get(name)
        for attr, value in list(vars(module).items()) if module else []:
            if (isinstance(value, CPUDispatcher) and isinstance(value._cache, NullCache)
                    and getattr(value.py_func, "__module__", None) == name):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        value.enable_caching()
                    except Exception:  # noqa: BLE001 - a function numba cannot cache compiles as before
                        continue
                done.append(f"{name}.{attr}")
    return done


def warm_up(samples: int = 64, dims: int = 2) -> None:
    """Fit a tiny seeded map: compiles (first time) or loads every function a fit needs."""
    import numpy as np

    umap = import_umap()
    x = np.random.default_rng(0).normal(size=(samples, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        umap.UMAP(n_components=dims, n_neighbors=10, random_state=0, n_epochs=20).fit_transform(x)
