"""vidkg's shared core: settings, database access and the schema every layer uses."""

__version__ = "0.1.0"
