# One image for the app and the worker (docs/PRODUCT.md §15): python slim, non-root, dependencies pinned by
# requirements.lock. The build stage installs into /opt/venv; the final stage copies only that venv (no
# pip, setuptools or compilers). Commands: `dancebot serve` (the default) and `dancebot worker`. The package's
# demo KB links to knowledge/studio.yaml, copied for the build; the live KB is mounted at /app/knowledge.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
WORKDIR /build
RUN python -m venv /opt/venv
# The runtime dependencies of pyproject.toml at the versions of requirements.lock (the lock also pins the
# test tools, which stay out of the image). A layer of its own: it is rebuilt only when these files change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > runtime-requirements.txt \
    && pip install --no-cache-dir --constraint requirements.lock --requirement runtime-requirements.txt
COPY README.md ./
COPY knowledge/studio.yaml ./knowledge/studio.yaml
COPY src ./src
RUN pip install --no-cache-dir --no-deps . \
    && pip uninstall --yes pip setuptools wheel

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin dancebot
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY scripts/healthcheck.py /app/scripts/healthcheck.py
USER 10001
EXPOSE 8000
# The app answers GET /health; the worker's heartbeat is in Redis (the script tells them apart).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["python", "/app/scripts/healthcheck.py"]
CMD ["dancebot", "serve", "--host", "0.0.0.0", "--port", "8000"]
