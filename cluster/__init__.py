"""The domain core of klaster: configuration, time grid, points, tariffs, settlement.

Imports nothing from the other klaster packages.
"""

__version__ = "0.1.0"
