"""The edges that touch the world: devices, files of measured data, databases."""
