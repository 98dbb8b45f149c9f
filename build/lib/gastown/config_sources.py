"""One configuration for every client. Lowest first: defaults < user file (``~/.config/gastown/config.toml``)
< repository file (``gastown.toml``, meant to be committed) < environment (``GASTOWN_…``, nested keys with
``__``) < command-line flags, or for the editor its ``gastown.*`` settings. The same keys everywhere (the
camelCase names of the editor settings; snake_case is accepted too). pydantic-settings reads the files and
the environment; this module merges them and remembers where each value came from (``gastown config show``).

Secrets (API keys) never come from the repository file: it is committed, so a key there is an error."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from gastown.config import Settings
from gastown.errors import GastownError

REPO_FILE = "gastown.toml"
SECRET_KEYS = {("provider", "api_key")}


class ConfigError(GastownError):
    """A configuration file or variable that cannot be used; the message names the file and the key."""


class _Sources(BaseSettings, Settings):  # type: ignore[misc]
    """Only for pydantic-settings' readers (they want a BaseSettings class); never instantiated."""

    model_config = SettingsConfigDict(env_prefix="GASTOWN_", env_nested_delimiter="__", extra="ignore",
                                      populate_by_name=True)


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gastown" / "config.toml"


def repo_config_path(workspace: Path) -> Path:
    return workspace / REPO_FILE


def _normalise(model: type[BaseModel], data: dict[str, Any], where: str) -> dict[str, Any]:
    """Map aliases (camelCase) to field names, recursively; unknown keys are an error naming them."""
    out: dict[str, Any] = {}
    by_key: dict[str, str] = {}
    for name, info in model.model_fields.items():
        by_key[name] = name
        if info.alias:
            by_key[info.alias] = name
    for key, value in data.items():
        name = by_key.get(key)
        if name is None:
            known = ", ".join(sorted(info.alias or n for n, info in model.model_fields.items()))
            raise ConfigError(f"{where}: unknown key {key!r} (known here: {known})")
        sub = model.model_fields[name].annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            out[name] = _normalise(sub, value, f"{where} [{key}]")
        else:
            out[name] = value
    return out


def _flatten(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    flat: dict[tuple[str, ...], Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, (*prefix, key)))
        else:
            flat[(*prefix, key)] = value
    return flat


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            tomllib.load(fh)  # a syntax error is reported with its line by tomllib
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return TomlConfigSettingsSource(_Sources, toml_file=path)()


class LoadedSettings(BaseModel):
    settings: Settings
    sources: dict[str, str]  # "polecats.stallSeconds" -> "repository file /x/gastown.toml"

    def show(self) -> list[dict[str, Any]]:
        """Every key with its effective value and where it came from; secrets masked."""
        rows = []
        for path, value in sorted(_flatten(self.settings.model_dump()).items()):
            dotted = _dotted(path)
            if path in SECRET_KEYS:
                value = "***" if value else None
            rows.append({"key": dotted, "value": value, "source": self.sources.get(dotted, "default")})
        return rows


def _dotted(path: tuple[str, ...]) -> str:
    model: type[BaseModel] = Settings
    names = []
    for part in path:
        info = model.model_fields[part]
        names.append(info.alias or part)
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            model = sub
    return ".".join(names)


def load_settings(workspace: Path | None, overrides: dict[str, Any] | None = None,
                  overrides_source: str = "command line", env: dict[str, str] | None = None) -> LoadedSettings:
    """Settings for ``workspace`` from every layer. ``overrides`` are the flags or the editor's settings."""
    layers: list[tuple[str, dict[str, Any]]] = []
    user = user_config_path()
    layers.append((f"user file {user}", _normalise(Settings, _read_toml(user), str(user))))
    if workspace is not None:
        repo = repo_config_path(workspace)
        data = _normalise(Settings, _read_toml(repo), str(repo))
        for secret in SECRET_KEYS:
            node: Any = data
            for part in secret:
                node = node.get(part) if isinstance(node, dict) else None
            if node:
                raise ConfigError(f"{repo}: {'.'.join(secret)} is a secret and this file is committed; put the "
                                  "key in the environment (provider.apiKeyEnv names the variable) instead")
        layers.append((f"repository file {repo}", data))
    saved = None
    if env is not None:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
    try:
        env_data = EnvSettingsSource(_Sources, env_prefix="GASTOWN_", env_nested_delimiter="__")()
    finally:
        if saved is not None:
            os.environ.clear()
            os.environ.update(saved)
    layers.append(("environment", _normalise(Settings, env_data, "environment GASTOWN_*")))
    if overrides:
        layers.append((overrides_source, _normalise(Settings, overrides, overrides_source)))
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, data in layers:
        _merge(merged, data)
        for path in _flatten(data):
            sources[_dotted(path)] = name
    return LoadedSettings(settings=Settings.model_validate(merged), sources=sources)
