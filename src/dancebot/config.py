"""Settings: every environment variable of PRODUCT.md §3.3, read once and validated.

Built by `load_settings()` (never at import time) and handed down. A missing or invalid value raises
`SettingsError` with one line per problem naming the variable; the CLI prints it and exits 2.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "load_settings"]

DEFAULT_KB = Path("knowledge/studio.yaml")
PACKAGED_KB = Path(__file__).parent / "kb" / "demo" / "studio.yaml"  # the demo studio, for any working dir


class SettingsError(Exception):
    """Configuration is unusable; `str()` names every offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    redis_url: str | None = None
    database_url: str | None = None
    kb_path: Path = DEFAULT_KB
    test_mode: bool = False

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    admin_chat_id: int | None = None
    daily_digest_hour: int | None = Field(default=None, ge=0, le=23)  # local hour of the admin's digest; unset: off

    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_approved_templates: str = ""

    impulse_tenant: str | None = None
    impulse_api_key: SecretStr | None = None
    impulse_base_url: str | None = None
    # Requests/s per process (SPEC §9: Impulse's limit is unknown, so 3). Raise it only when Impulse confirms a
    # higher limit for the tenant; the load benchmark raises it against its fake to measure the bot, not 3/s.
    impulse_max_rps: float = Field(default=3.0, gt=0, le=1000)

    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_price_input_per_1m_usd: float = Field(default=0.0, ge=0)
    llm_price_output_per_1m_usd: float = Field(default=0.0, ge=0)
    llm_timeout_s: float = Field(default=8.0, gt=0, le=120)  # one deadline for a request and its JSON retry
    llm_rewrite: bool = False  # reword the engine's replies naturally (PRODUCT.md §6.2), checked like any LLM text

    max_tokens_per_hour: int = Field(default=100_000, gt=0)
    max_cost_per_day_usd: float = Field(default=10.0, gt=0)
    max_requests_per_minute: int = Field(default=30, gt=0)
    max_errors_per_hour: int = Field(default=50, gt=0)

    # Tests and demos only: the conversation's clock stands still at this moment (timezone-aware ISO).
    dancebot_frozen_now: datetime | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v or None

    @field_validator("database_url")
    @classmethod
    def _pg_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError("must be a postgresql:// URL")
        return v or None

    @field_validator("telegram_api_base_url", "whatsapp_api_base_url", "impulse_base_url", "llm_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return v.rstrip("/") if v else None

    @field_validator("whatsapp_phone_number_id")
    @classmethod
    def _wa_number_id(cls, v: str | None) -> str | None:
        if v and not v.strip().isdigit():
            raise ValueError("must be the numeric phone number id from Meta's WhatsApp settings")
        return v.strip() if v else None

    @field_validator("whatsapp_approved_templates")
    @classmethod
    def _wa_templates(cls, v: str) -> str:
        names = [n.strip() for n in v.split(",") if n.strip()]
        bad = [n for n in names if not re.fullmatch(r"[a-z0-9_]{1,512}", n)]
        if bad:
            raise ValueError(f"template names are lowercase letters, digits and _ (comma-separated): {bad}")
        return ",".join(names)

    @model_validator(mode="after")
    def _wa_complete(self) -> Settings:
        """WhatsApp is all or nothing: a half-configured channel would accept webhooks it cannot answer."""
        parts = {
            "WHATSAPP_ACCESS_TOKEN": self.whatsapp_access_token,
            "WHATSAPP_PHONE_NUMBER_ID": self.whatsapp_phone_number_id,
            "WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        missing = [name for name, value in parts.items() if not value]
        if 0 < len(missing) < len(parts):
            lines = "\n".join(f"{name}: required when WhatsApp is configured" for name in missing)
            raise PydanticCustomError("whatsapp_incomplete", lines)
        return self

    @field_validator("dancebot_frozen_now")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-12-02T15:00:00+10:00")
        return v

    @model_validator(mode="after")
    def _kb_anywhere(self) -> Settings:
        """With KB_PATH unset and no ./knowledge/studio.yaml here, use the shipped demo studio."""
        if self.kb_path == DEFAULT_KB and not DEFAULT_KB.exists() and PACKAGED_KB.exists():
            self.kb_path = PACKAGED_KB
        return self

    # -- derived ---------------------------------------------------------------------------------

    @property
    def crm_configured(self) -> bool:
        """A real Impulse tenant is configured; otherwise the in-process fake serves (PRODUCT.md §7.2)."""
        return bool(self.impulse_api_key and (self.impulse_base_url or self.impulse_tenant)) and not self.test_mode

    @property
    def impulse_url(self) -> str:
        if self.impulse_base_url:
            return self.impulse_base_url
        return f"https://{self.impulse_tenant}.impulsecrm.ru/api/public"

    @property
    def whatsapp_configured(self) -> bool:
        """Every WHATSAPP_* secret is set (the validator refuses half a configuration)."""
        return bool(self.whatsapp_access_token and self.whatsapp_phone_number_id and self.whatsapp_app_secret)

    @property
    def whatsapp_templates(self) -> frozenset[str]:
        """The template names Meta has approved (`WHATSAPP_APPROVED_TEMPLATES`, PRODUCT.md §10.3)."""
        return frozenset(n for n in self.whatsapp_approved_templates.split(",") if n)

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_api_key and self.llm_api_key.get_secret_value())

    def require_crm(self) -> None:
        """serve/worker book real classes: a real Impulse tenant, or TEST_MODE=true for the fake."""
        if not self.test_mode and not self.crm_configured:
            raise SettingsError(
                "IMPULSE_API_KEY: required (with IMPULSE_TENANT or IMPULSE_BASE_URL) unless TEST_MODE=true"
            )

    def require(self, *names: str) -> None:
        """Fail with one line per missing variable that a given command needs."""
        missing = [n.upper() for n in names if not getattr(self, n)]
        if missing:
            raise SettingsError("\n".join(f"{m}: required but not set" for m in missing))

    def required_secret(self, name: str) -> str:
        """The value of a secret a command cannot run without (call `require` first to report every
        missing variable at once)."""
        value = getattr(self, name)
        if not isinstance(value, SecretStr) or not value.get_secret_value():
            raise SettingsError(f"{name.upper()}: required but not set")
        return value.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and `.env`); turn pydantic's report into one line per variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("\n".join(lines)) from None
