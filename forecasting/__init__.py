"""Forecasts of load, generation, prices and the other series the optimiser needs."""
