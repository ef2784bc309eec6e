"""Run the CLI as ``python -m kg``."""

from kg.launch import main

main()
