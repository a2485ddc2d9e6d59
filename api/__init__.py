"""The outer layer: the HTTP API and the ``vidkg`` command line."""
