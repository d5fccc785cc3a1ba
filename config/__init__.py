"""Settings of the service: defaults < TOML file (``SR_CONFIG``) < environment."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
