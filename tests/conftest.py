"""Settings for the whole test suite."""

import os

# The CLI's rich tables take their width from the terminal; tests have none, and
# CI's default of 80 columns would wrap the cells the tests look for.
os.environ["COLUMNS"] = "200"
