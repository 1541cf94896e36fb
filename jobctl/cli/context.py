"""Per-invocation state: the settings (from --config / environment) and a lazily built API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobctl.api import JobctlAPI
    from jobctl.settings import Settings


@dataclass
class CliState:
    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _api: JobctlAPI | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from jobctl.settings import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def api(self) -> JobctlAPI:
        if self._api is None:
            from jobctl.api import JobctlAPI

            self._api = JobctlAPI(self.settings)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


STATE = CliState()
