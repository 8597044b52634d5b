"""The ``klaster`` command: wiring and presentation only."""
