"""Building management: setpoint policies, checks, fault rules and write safety."""
