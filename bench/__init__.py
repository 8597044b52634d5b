"""Benchmarks: each module's ``run()`` measures and prints a table; nothing here fails a build."""
