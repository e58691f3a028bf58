"""Run the command line as ``python -m riskmodel``."""

from riskmodel.cli import main

main()
