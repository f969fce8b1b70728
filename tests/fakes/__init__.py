"""Test doubles of the outside services: the fake Telegram Bot API (`telegram`, `telegram_http`, `telegram_markup`)."""
