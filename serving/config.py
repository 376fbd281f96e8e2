"""Service settings, read once from environment variables (HOST, PORT, ARTIFACTS_DIR, ADMIN_TOKEN, WORKERS, ...)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    host: str = Field("127.0.0.1", description="interface uvicorn binds")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (`make serve WORKERS=N`)")
    artifacts_dir: Path = Field(Path("artifacts"), description="bundle folder (its `current` link) or one bundle")
    admin_token: str | None = Field(None, description="enables POST /admin/reload with this bearer token")
    max_body_bytes: int = Field(1 << 20, ge=1, description="largest request body accepted; a larger one is a 413")
    database_url: str | None = Field(
        None,
        description="live-ratings store, e.g. postgresql+psycopg://user:pw@host/db (default: SQLite file "
        "data/movierec.sqlite3 under MOVIEREC_DATA_DIR)",
    )
    log_level: str = "info"
    reload_poll_seconds: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="how often each worker checks that it serves what artifacts/current points to (0: never)",
    )
    onnx_threads: int = Field(1, ge=1, le=64, description="ONNX Runtime intra-op threads per worker")


@lru_cache
def get_settings() -> Settings:
    return Settings()
