#!/usr/bin/env bash
# Deploy or update DanceBot on the VM, from the repository's folder (docs/DEPLOY.md):
#
#   scripts/deploy.sh            pull → prompt regression gate → docker compose up -d --build → /health →
#                                Telegram setWebhook → the WhatsApp webhook URL and verify token for Meta
#
# It stops at the first step that fails and says what to do. Steps:
#   1. .env: created from .env.example on the first run (then fill it in and run again); empty generated
#      secrets (REDIS_PASSWORD, POSTGRES_PASSWORD, TELEGRAM_WEBHOOK_SECRET, WHATSAPP_VERIFY_TOKEN when
#      WhatsApp is configured) are filled with random values; required ones are checked.
#   2. git pull --ff-only (skip with DEPLOY_SKIP_PULL=1, e.g. when deploying a copied folder).
#   3. docker compose build, then the prompt regression suite runs in the new image
#      (`python -m tests.prompt_regression.runner`, against the configured LLM or rules-only without one):
#      below 90 % of the cases (PRODUCT.md §16.2) nothing is deployed.
#   4. docker compose up -d --build.
#   5. waits until https://$DOMAIN/health answers 200 through Caddy (the certificate is there then).
#   6. Telegram setWebhook: https://$DOMAIN/webhook/telegram with TELEGRAM_WEBHOOK_SECRET.
#   7. prints the WhatsApp webhook URL and verify token to paste into Meta, and checks Meta's handshake.
#
# Settings (environment): DEPLOY_SKIP_PULL=1, DEPLOY_HEALTH_TIMEOUT (seconds, default 300),
# DEPLOY_PUBLIC_URL (where this script itself reaches the bot; default https://$DOMAIN).
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_FILE=.env
GATE_THRESHOLD=90

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\ndeploy stopped: %s\n' "$*" >&2; exit 1; }

# The value of KEY in .env (the last assignment wins; surrounding quotes are removed).
env_get() {
  local line
  line=$(grep -E "^$1=" "$ENV_FILE" | tail -n 1 || true)
  line=${line#*=}
  line=${line%$'\r'}
  line=${line#\"}; line=${line%\"}
  line=${line#\'}; line=${line%\'}
  printf '%s' "$line"
}

# Set KEY=VALUE in .env, replacing an existing (empty) assignment or appending one.
env_set() {
  local tmp
  tmp=$(mktemp "$ENV_FILE.XXXXXX")
  awk -v key="$1" -v value="$2" 'BEGIN { done = 0 }
    $0 ~ "^" key "=" { if (!done) { print key "=" value; done = 1 }; next }
    { print }
    END { if (!done) print key "=" value }' "$ENV_FILE" >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

public_url() { printf '%s' "${DEPLOY_PUBLIC_URL:-https://$(env_get DOMAIN)}"; }

random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }  # 48 hex digits: safe inside URLs

generate_if_empty() {
  if [ -z "$(env_get "$1")" ]; then
    env_set "$1" "$(random_secret)"
    echo "generated $1 (kept in $ENV_FILE)"
  fi
}

check_env() {
  say "configuration ($ENV_FILE)"
  if [ ! -f "$ENV_FILE" ]; then
    cp .env.example "$ENV_FILE"
    chmod 600 "$ENV_FILE"
    generate_if_empty REDIS_PASSWORD
    generate_if_empty POSTGRES_PASSWORD
    generate_if_empty TELEGRAM_WEBHOOK_SECRET
    die "created $ENV_FILE from .env.example: fill in DOMAIN, TELEGRAM_BOT_TOKEN, ADMIN_CHAT_ID and IMPULSE_* (see docs/DEPLOY.md), then run scripts/deploy.sh again"
  fi
  generate_if_empty REDIS_PASSWORD
  generate_if_empty POSTGRES_PASSWORD
  generate_if_empty TELEGRAM_WEBHOOK_SECRET
  if [ -n "$(env_get WHATSAPP_ACCESS_TOKEN)" ] && [ -n "$(env_get WHATSAPP_APP_SECRET)" ]; then
    generate_if_empty WHATSAPP_VERIFY_TOKEN
  fi
  local missing=() name
  for name in DOMAIN TELEGRAM_BOT_TOKEN ADMIN_CHAT_ID; do
    [ -n "$(env_get "$name")" ] || missing+=("$name")
  done
  if [ "$(env_get TEST_MODE)" != "true" ] && [ -z "$(env_get IMPULSE_API_KEY)" ]; then
    missing+=("IMPULSE_API_KEY")
  fi
  [ ${#missing[@]} -eq 0 ] || die "set ${missing[*]} in $ENV_FILE (docs/DEPLOY.md says where each comes from)"
  case "$(env_get DOMAIN)" in
    *example*|http://*|https://*|*/*) die "DOMAIN must be the bot's own host name, e.g. bot.studio.ru (no http://, no path)" ;;
  esac
  echo "ok"
}

pull() {
  if [ "${DEPLOY_SKIP_PULL:-0}" = "1" ]; then
    say "git pull skipped (DEPLOY_SKIP_PULL=1)"
    return
  fi
  say "git pull"
  git pull --ff-only || die "git pull failed: local changes? (git status) — the KB lives in knowledge/, commit or stash edits elsewhere"
}

gate() {
  say "prompt regression gate (≥ ${GATE_THRESHOLD} % of the cases, PRODUCT.md §16.2)"
  docker compose build || die "docker compose build failed (see above)"
  local mode=rules
  [ -n "$(env_get LLM_API_KEY)" ] && mode=configured
  # The suite runs in the image just built, with the tests mounted read-only; it starts its own embedded
  # Redis and PostgreSQL in the container, so the running bot's data is never touched.
  if ! docker compose run --rm --no-deps -T \
      -v "$PWD/tests:/app/tests:ro" \
      app python -m tests.prompt_regression.runner --llm "$mode" --threshold "$GATE_THRESHOLD"; then
    die "the prompt regression suite is below ${GATE_THRESHOLD} % (or could not run): nothing was deployed; the running bot is unchanged"
  fi
}

up() {
  say "docker compose up -d --build"
  docker compose up -d --build || die "docker compose up failed: docker compose ps; docker compose logs --tail 100"
}

wait_healthy() {
  local url
  url="$(public_url)/health"
  local timeout=${DEPLOY_HEALTH_TIMEOUT:-300}
  local deadline=$((SECONDS + timeout)) body=""
  say "waiting for $url (up to ${timeout} s; the first HTTPS certificate can take a minute)"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if body=$(curl -fsS --max-time 5 "$url" 2>/dev/null); then
      echo "healthy: $body"
      return
    fi
    sleep 3
  done
  die "no answer from $url within ${timeout} s. Check: the DNS A record of $(env_get DOMAIN) points at this VM; ports 80 and 443 are open in the security group; docker compose ps; docker compose logs --tail 100 caddy app"
}

# A Bot API call with the token kept out of the process list (curl reads the URL from stdin).
telegram_call() {
  local method=$1
  shift
  local base token
  base=$(env_get TELEGRAM_API_BASE_URL)
  base=${base:-https://api.telegram.org}
  token=$(env_get TELEGRAM_BOT_TOKEN)
  printf 'url = "%s/bot%s/%s"\n' "${base%/}" "$token" "$method" | curl -sS --max-time 30 -K - "$@"
}

set_telegram_webhook() {
  local url answer
  url="https://$(env_get DOMAIN)/webhook/telegram"
  say "Telegram setWebhook → $url"
  answer=$(telegram_call setWebhook \
    --data-urlencode "url=$url" \
    --data-urlencode "secret_token=$(env_get TELEGRAM_WEBHOOK_SECRET)" \
    --data-urlencode 'allowed_updates=["message","edited_message","callback_query","my_chat_member"]' \
    --data-urlencode "max_connections=40") || die "could not reach the Telegram Bot API"
  case "$answer" in
    *'"ok":true'*) echo "Telegram will deliver updates to $url" ;;
    *) die "Telegram refused setWebhook: $answer (is TELEGRAM_BOT_TOKEN right?)" ;;
  esac
}

print_whatsapp() {
  local token
  token=$(env_get WHATSAPP_VERIFY_TOKEN)
  if [ -z "$(env_get WHATSAPP_ACCESS_TOKEN)" ] || [ -z "$token" ]; then
    say "WhatsApp is not configured (WHATSAPP_* in $ENV_FILE): skipped"
    return
  fi
  local url challenge answer
  url="https://$(env_get DOMAIN)/webhook/whatsapp"
  challenge=$(random_secret)
  answer=$(curl -sS --max-time 10 -G "$(public_url)/webhook/whatsapp" --data-urlencode "hub.mode=subscribe" \
    --data-urlencode "hub.verify_token=$token" --data-urlencode "hub.challenge=$challenge" || true)
  [ "$answer" = "$challenge" ] || die "$url did not answer Meta's verification handshake (got: ${answer:0:200})"
  say "WhatsApp: paste into Meta (App dashboard → WhatsApp → Configuration → Webhook), subscribe to 'messages':"
  echo "  Callback URL:  $url"
  echo "  Verify token:  $token"
}

check_env
pull
gate
up
wait_healthy
set_telegram_webhook
print_whatsapp
say "deployed: docker compose ps shows the five services; logs: docker compose logs -f app worker"
