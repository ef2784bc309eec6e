"""The ``kg validate`` command."""
