# One image for the app and the worker (docs/PRODUCT.md §15): slim, non-root, pinned dependencies.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.lock pyproject.toml README.md ./
RUN pip install -r requirements.lock
COPY src ./src
COPY knowledge ./knowledge
RUN pip install --no-deps . && useradd --create-home --uid 10001 dancebot
USER dancebot

EXPOSE 8000
CMD ["dancebot", "serve", "--host", "0.0.0.0", "--port", "8000"]
