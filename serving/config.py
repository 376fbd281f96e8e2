"""Service settings, read once from environment variables (HOST, PORT, ARTIFACTS_DIR, ADMIN_TOKEN, ...)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    host: str = Field("127.0.0.1", description="interface uvicorn binds")
    port: int = Field(8000, ge=1, le=65535)
    artifacts_dir: Path = Field(Path("artifacts"), description="bundle folder (its `current` link) or one bundle")
    admin_token: str | None = Field(None, description="enables POST /admin/reload with this bearer token")
    log_level: str = "info"


@lru_cache
def get_settings() -> Settings:
    return Settings()
