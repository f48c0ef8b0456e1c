"""pinit: a container-native init and process supervisor."""

__version__ = "0.1.0"
