"""Forecasts of load, generation, prices and the other series the optimiser needs.

Start at :func:`forecasting.models.fit` (one series) or
:func:`forecasting.batch.forecast_many` (many, in worker processes)::

    fitted = fit(history, weather, kind="load")          # a PreparedForecaster
    result = fitted.forecast(steps, levels=(0.8, 0.95), regressors=weather)
    result.point, result.intervals[0.8]["lower"], result.notes, result.cleaning

The modules, from the interface down:

- :mod:`~forecasting.base`: ``Forecaster`` / ``FittedForecaster`` protocols,
  ``ForecastResult``, ``ForecastError``, ``SeriesKind``;
- :mod:`~forecasting.models`: the registry (``available_models``,
  ``default_model``, ``make_model``) and ``fit``, which cleans, chooses,
  falls back and clips;
- :mod:`~forecasting.batch`: ``forecast_many`` and ``FitCache``;
- :mod:`~forecasting.cleaning`: gaps, duplicates, spikes, stuck values;
- the models: :mod:`~forecasting.naive` (seasonal naive),
  :mod:`~forecasting.regression` (the load model, with
  :mod:`~forecasting.profile` and :mod:`~forecasting.dynamics`),
  :mod:`~forecasting.seasonal` (MSTL), :mod:`~forecasting.smoothing`
  (double-seasonal exponential smoothing), :mod:`~forecasting.pv` (PV
  physics corrected by the plant's history, on :mod:`~forecasting.irradiance`),
  :mod:`~forecasting.level` (plants' recent level), :mod:`~forecasting.lighting`
  (dusk, dawn and street-lighting load);
- helpers: :mod:`~forecasting.grid` (steps, horizons, the wall clock),
  :mod:`~forecasting.features` (calendar and degree features),
  :mod:`~forecasting.intervals` and :mod:`~forecasting.calibration`
  (prediction intervals), :mod:`~forecasting.metrics` (accuracy),
  :mod:`~forecasting.weather` (the weather forecast given to the models);
- :mod:`~forecasting.series`: which series a cluster needs and each one's model;
- :mod:`~forecasting.daily`: the day-ahead forecast ``klaster schedule`` uses;
- :mod:`~forecasting.backtest`: rolling-origin evaluation (``klaster backtest``).
"""
