"""One configuration for every client. Lowest first: defaults < user file (``~/.config/gastown/config.toml``)
< repository file (``gastown.toml``, meant to be committed) < environment (``GASTOWN_…``, nested keys with
``__``) < command-line flags, or for the editor its ``gastown.*`` settings. The same keys everywhere (the
camelCase names of the editor settings; snake_case is accepted too). pydantic-settings reads the files and
the environment; this module merges them and remembers where each value came from (``gastown config show``).

Secrets (API keys) never come from the repository file: it is committed, so a key there is an error."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, TomlConfigSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from gastown.config import Settings
from gastown.errors import GastownError

REPO_FILE = "gastown.toml"
ENV_PREFIX = "GASTOWN_"
SECRET_KEYS = {("provider", "api_key"), ("telemetry", "headers")}


class ConfigError(GastownError):
    """A configuration file or variable that cannot be used; the message names the file and the key."""


class _Sources(BaseSettings, Settings):
    """Only for pydantic-settings' readers (they want a BaseSettings class); never instantiated."""

    model_config = SettingsConfigDict(env_prefix="GASTOWN_", env_nested_delimiter="__", extra="ignore",
                                      populate_by_name=True)


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gastown" / "config.toml"


def repo_config_path(workspace: Path) -> Path:
    return workspace / REPO_FILE


def _normalise(model: type[BaseModel], data: dict[str, Any], where: str, strict: bool = True) -> dict[str, Any]:
    """Map aliases (camelCase) to field names, recursively; unknown keys are an error naming them (dropped
    when not ``strict``)."""
    out: dict[str, Any] = {}
    by_key: dict[str, str] = {}
    for name, info in model.model_fields.items():
        by_key[name] = name
        if info.alias:
            by_key[info.alias] = name
    for key, value in data.items():
        found = by_key.get(key)
        if found is None:
            if not strict:
                continue
            known = ", ".join(sorted(info.alias or n for n, info in model.model_fields.items()))
            raise ConfigError(f"{where}: unknown key {key!r} (known here: {known})")
        sub = model.model_fields[found].annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            out[found] = _normalise(sub, value, f"{where} [{key}]", strict)
        else:
            out[found] = value
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
        return sorted(rows, key=lambda r: r["key"])


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


class _GastownEnv(EnvSettingsSource):
    """pydantic-settings' environment reader over ``GASTOWN_*`` variables only: a field's alias (``maxPolecats``)
    is never read from an unprefixed variable of that name, and a given mapping replaces ``os.environ``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = {k: v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}
        super().__init__(_Sources, env_prefix=ENV_PREFIX, env_nested_delimiter="__", env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, False, True, None)


def parse_assignments(pairs: list[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs as nested overrides: ``polecats.stallSeconds=30`` → {"polecats": {"stallSeconds":
    30}}. The value is read as a TOML value (numbers, booleans, quoted strings, arrays), else kept as text."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE with a dotted key, e.g. polecats.stallSeconds=30")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {pair!r}: {part} is set to a value and used as a group")
        node[leaf] = value
    return out


def load_settings(workspace: Path | None, overrides: dict[str, Any] | None = None,
                  overrides_source: str = "command line", env: Mapping[str, str] | None = None,
                  strict_overrides: bool = True) -> LoadedSettings:
    """Settings for ``workspace`` from every layer. ``overrides`` are the flags or the editor's settings (the
    same camelCase keys, nested); ``env`` replaces ``os.environ`` (tests). Raises ConfigError naming the file,
    variable or flag a bad value came from. The editor passes ``strict_overrides=False``: its ``gastown.*``
    settings also hold keys only the extension reads (``server.pythonPath``), which are dropped here."""
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
                where = ("the environment (provider.apiKeyEnv names the variable)" if secret == ("provider", "api_key")
                         else f"the environment ({ENV_PREFIX}{'__'.join(secret).upper()}) or the user file")
                raise ConfigError(f"{repo}: {'.'.join(secret)} is a secret and this file is committed; put the "
                                  f"key in {where} instead")
        layers.append((f"repository file {repo}", data))
    try:
        env_data = _GastownEnv(os.environ if env is None else env)()
    except Exception as exc:  # e.g. a GASTOWN_…__ variable holding JSON that does not parse
        raise ConfigError(f"environment {ENV_PREFIX}*: {exc}") from None
    layers.append(("environment", _normalise(Settings, env_data, f"environment {ENV_PREFIX}*")))
    if overrides:
        layers.append((overrides_source, _normalise(Settings, overrides, overrides_source, strict_overrides)))
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, data in layers:
        _merge(merged, data)
        for path in _flatten(data):
            sources[_dotted(path)] = name
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, sources)) from None
    return LoadedSettings(settings=settings, sources=sources)


def _explain(exc: ValidationError, sources: dict[str, str]) -> str:
    """A validation error as one line per bad key, each naming the layer its value came from."""
    lines = []
    for err in exc.errors():
        path = tuple(str(p) for p in err["loc"] if isinstance(p, str))
        try:
            dotted = _dotted(path)
        except KeyError:
            dotted = ".".join(path)
        where = sources.get(dotted, "default")
        value = "***" if path in SECRET_KEYS else repr(err.get("input"))
        lines.append(f"{dotted} = {value} (from {where}): {err['msg']}")
    return "invalid setting: " + "; ".join(lines)
