"""The identity of a settlement run's inputs: what must be equal for equal output.

A run is identified by the SHA-256 over what changes its numbers: the
canonical config (its ``model_dump_json``), the metered frames and day-ahead
prices (column names, UTC index and float64 values, byte for byte), the
Shapley option (it adds a line to every statement) and klaster's version. Any
change to any of them is a new identity, so a new version of the month's
settlement. How the settlement is shown (the reports' language, which members'
reports are written) is not part of it: those are renderings of one version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import cluster
from cluster.config import ClusterConfig
from cluster.invoices import MeteredPeriod


@dataclass(frozen=True)
class InputIdentity:
    """What a settlement run rests on, as SHA-256 digests (hex).

    Attributes
    ----------
    sha256 : str
        The identity: over all of the below.
    config_sha256 : str
        The canonical config (its ``model_dump_json``).
    metered_sha256 : str
        The metered frames: index and values bytes of each.
    options : dict
        The settlement options that change the numbers (Shapley).
    klaster_version : str
        The version of the code that settled.
    """

    sha256: str
    config_sha256: str
    metered_sha256: str
    options: dict[str, object]
    klaster_version: str

    def to_json(self) -> bytes:
        """The identity as sorted JSON, for a run's ``inputs.json``."""
        text = json.dumps(
            {
                "input_sha256": self.sha256,
                "config_sha256": self.config_sha256,
                "metered_sha256": self.metered_sha256,
                "options": self.options,
                "klaster_version": self.klaster_version,
            },
            sort_keys=True,
            indent=1,
        )
        return (text + "\n").encode("utf-8")


def _frame_bytes(update: Callable[[bytes], object], frame: pd.DataFrame | pd.Series) -> None:
    """Feed a frame's column names, UTC index (ns) and float64 values to a digest's update."""
    names = [str(frame.name)] if isinstance(frame, pd.Series) else [str(c) for c in frame.columns]
    index = pd.DatetimeIndex(frame.index).tz_convert("UTC").as_unit("ns")
    values = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    for part in ("\x1f".join(names).encode(), index.asi8.tobytes(), values.tobytes()):
        # Length-prefixed, so that no two different inputs give the same byte stream.
        update(len(part).to_bytes(8, "little"))
        update(part)


def input_identity(
    config: ClusterConfig,
    metered: MeteredPeriod,
    *,
    shapley: bool,
    klaster_version: str = cluster.__version__,
) -> InputIdentity:
    """The identity of a settlement's inputs.

    Parameters
    ----------
    config
        The cluster configuration.
    metered
        The month's metered data and prices.
    shapley
        Whether the Shapley split is computed.
    klaster_version
        The code's version.
    """
    config_sha = hashlib.sha256(config.model_dump_json().encode("utf-8")).hexdigest()
    metered_digest = hashlib.sha256()
    for frame in (metered.import_kwh, metered.export_kwh, metered.curtailed_kwh):
        _frame_bytes(metered_digest.update, frame)
    _frame_bytes(metered_digest.update, metered.day_ahead_pln_per_mwh)
    options: dict[str, object] = {"shapley": shapley}
    whole = hashlib.sha256()
    for part in (config_sha, metered_digest.hexdigest(), json.dumps(options, sort_keys=True),
                 klaster_version):  # fmt: skip
        whole.update(part.encode("utf-8") + b"\n")
    return InputIdentity(
        whole.hexdigest(), config_sha, metered_digest.hexdigest(), options, klaster_version
    )
