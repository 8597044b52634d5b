"""Fitted forecasting models kept in the data folder, so that the next day's run reuses them.

Each ``klaster schedule`` or ``klaster forecast`` is a new process; a
:class:`~forecasting.batch.FitCache` kept only in memory would be lost with
it. :func:`read_fit_cache` loads the models an earlier run kept, and
:func:`write_fit_cache` keeps this run's, in one file of the data folder
(:data:`CACHE_FILE`).

The file is a local cache of klaster's own objects, written and read by
klaster only, so it is a pickle. An entry is reused only while everything
it was made from is unchanged:

- the file's format, the klaster version, the versions of the libraries
  whose objects a fitted model holds, and the source of the forecasting
  package (a changed model must be refitted, whatever its version says);
- per series: the model asked for and the fingerprint of the configuration
  parts its fit depends on (:func:`forecasting.daily.fit_fingerprints`).

Anything else (a missing, unreadable or foreign file, an entry that no
longer unpickles, a changed fingerprint) is discarded and logged, never
raised: the cache only saves time, so the daily job must never fail
because of it. Writing goes to a temporary file in the same folder, renamed
over the old one, so a crash mid-write leaves the previous cache whole.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import forecasting
from cluster import __version__ as klaster_version
from forecasting.batch import CacheEntry, FitCache

log = logging.getLogger(__name__)

#: The cache's file in the data folder.
CACHE_FILE = "fit_cache.pickle"
#: The layout of the file; raised when it changes.
FORMAT_VERSION = 1
#: Libraries whose objects fitted models hold: another version may not read them back.
LIBRARIES = ("numpy", "pandas", "statsmodels", "scipy", "pvlib")


@dataclass(frozen=True)
class LoadedFitCache:
    """What :func:`read_fit_cache` found.

    Attributes
    ----------
    cache
        The fitted models that may be reused (possibly none).
    discarded
        Series ids (or ``"(file)"`` for the whole file) left out, with the reason.
    """

    cache: FitCache
    discarded: dict[str, str] = field(default_factory=dict)

    @property
    def reused(self) -> int:
        """Fitted models loaded."""
        return len(self.cache.entries)


def fit_cache_path(data_dir: Path) -> Path:
    """The cache file in a data folder."""
    return Path(data_dir) / CACHE_FILE


def code_version() -> str:
    """The klaster version, the library versions and a hash of the forecasting source.

    Taken once, when this module is imported (with the forecasting modules it
    imports), so that it describes the code this process runs even if the
    source files change while it runs.
    """
    return _CODE_VERSION


def _code_version() -> str:
    digest = hashlib.sha256()
    package = Path(forecasting.__file__).parent
    for source in sorted(package.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    libraries = []
    for name in LIBRARIES:
        try:
            libraries.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            libraries.append(f"{name} -")
    return (
        f"klaster {klaster_version}; {', '.join(libraries)}; forecasting {digest.hexdigest()[:16]}"
    )


_CODE_VERSION = _code_version()


class _PlainUnpickler(pickle.Unpickler):
    """Reads only plain values (dicts, text, bytes, numbers): the file's outer layer."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")


def _discard_all(reason: str, refit_days: int) -> LoadedFitCache:
    log.info("fit cache not used: %s", reason)
    return LoadedFitCache(FitCache(refit_days=refit_days), {"(file)": reason})


def read_fit_cache(
    data_dir: Path, fingerprints: Mapping[str, str], *, refit_days: int = 7
) -> LoadedFitCache:
    """The fitted models an earlier run kept in ``data_dir`` that may serve this run.

    Parameters
    ----------
    data_dir
        The data folder.
    fingerprints
        Per series id, the fingerprint of the configuration parts its fit
        depends on; a series not named here is not loaded.
    refit_days
        Days a fitted model is reused (updated) before it is refitted.

    Never raises: whatever cannot be used is discarded, logged and listed
    in :attr:`LoadedFitCache.discarded`.
    """
    path = fit_cache_path(data_dir)
    if not path.exists():
        return LoadedFitCache(FitCache(refit_days=refit_days))
    try:
        with path.open("rb") as file:
            stored = _PlainUnpickler(io.BytesIO(file.read())).load()
    except Exception as exc:  # any unreadable file is only a cold start
        log.warning("fit cache %s cannot be read (%s): refitting every series", path, exc)
        return LoadedFitCache(FitCache(refit_days=refit_days), {"(file)": f"unreadable: {exc}"})
    if not isinstance(stored, dict) or stored.get("format") != FORMAT_VERSION:
        return _discard_all(f"{path} is not a fit cache of format {FORMAT_VERSION}", refit_days)
    if stored.get("code") != code_version():
        return _discard_all(f"made by {stored.get('code')!r}, not {code_version()!r}", refit_days)
    cache = FitCache(refit_days=refit_days)
    discarded: dict[str, str] = {}
    entries = stored.get("entries")
    for series_id, item in (entries if isinstance(entries, dict) else {}).items():
        why = _entry_problem(series_id, item, fingerprints)
        if why is None:
            try:
                fitted = pickle.loads(item["fitted"])
                entry = CacheEntry(fitted, item["requested_model"], date.fromisoformat(item["day"]))
            except Exception as exc:  # a model that no longer unpickles is refitted
                why = f"cannot be read back ({type(exc).__name__}: {exc})"
            else:
                cache.entries[series_id] = entry
                continue
        discarded[str(series_id)] = why
        log.info("fit cache entry %s discarded: %s", series_id, why)
    return LoadedFitCache(cache, discarded)


_ENTRY_KEYS = frozenset({"fingerprint", "requested_model", "day", "fitted"})


def _entry_problem(series_id: Any, item: Any, fingerprints: Mapping[str, str]) -> str | None:
    """Why a stored entry may not serve this run, or None when it may."""
    if not isinstance(item, dict) or not _ENTRY_KEYS.issubset(item):
        return "malformed entry"
    if series_id not in fingerprints:
        return "the series is no longer forecast"
    if item["fingerprint"] != fingerprints[series_id]:
        return "its configuration (model, options or planned outages) changed"
    return None


def write_fit_cache(
    cache: FitCache, data_dir: Path, fingerprints: Mapping[str, str]
) -> Path | None:
    """Keep the fitted models of ``cache`` in ``data_dir`` for the next run.

    Parameters
    ----------
    cache
        The fitted models after this run's forecasts.
    data_dir
        The data folder.
    fingerprints
        Per series id, the fingerprint its models were fitted under; series
        not named here are not kept.

    Returns
    -------
    Path or None
        The file written, or None when it could not be (logged, never raised).
    """
    path = fit_cache_path(data_dir)
    entries: dict[str, dict[str, Any]] = {}
    for series_id, entry in cache.entries.items():
        if series_id not in fingerprints:
            continue
        try:
            blob = pickle.dumps(entry.fitted, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # one model that will not pickle is only refitted next time
            log.warning("fit cache: the model of %s cannot be kept (%s)", series_id, exc)
            continue
        entries[series_id] = {
            "fingerprint": fingerprints[series_id],
            "requested_model": entry.requested_model,
            "model": entry.fitted.model_name,
            "day": entry.fitted_on.isoformat(),
            "fitted": blob,
        }
    stored = {"format": FORMAT_VERSION, "code": code_version(), "entries": entries}
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "wb", dir=path.parent, prefix=f".{CACHE_FILE}.", suffix=".tmp", delete=False
        ) as file:
            temporary = file.name
            pickle.dump(stored, file, protocol=pickle.HIGHEST_PROTOCOL)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except Exception as exc:  # the cache only saves time: never fail the run for it
        log.warning("fit cache %s cannot be written (%s): the next run refits", path, exc)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        return None
    return path
