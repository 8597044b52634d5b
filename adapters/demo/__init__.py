"""The parts of the synthetic demo history: randomness, calendar, weather, and series.

Every value is a pure function of ``(seed, series, instant)``, so any range
of history can be generated on its own and agrees with every other range
where they overlap. :mod:`adapters.demo_history` assembles the series.
"""
