#!/usr/bin/env bash
# Install (from Debian's packages) and start what the tests need, when it is not there already.
# Safe to run again: every step checks first.
set -euo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# the browser test drives Debian's Chromium (Playwright never downloads a browser here)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# a real Alertmanager for the alerting tests (they start it themselves on a free loopback port)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 \
  || need_apt+=(prometheus-alertmanager)
# a real Pushgateway for the self-metrics tests (started by the tests on a free loopback port),
# and Prometheus for `promtool`, which checks and unit-tests the shipped alert rules
command -v prometheus-pushgateway >/dev/null 2>&1 || command -v pushgateway >/dev/null 2>&1 \
  || need_apt+=(prometheus-pushgateway)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  if [[ " ${need_apt[*]} " == *" postgresql "* ]]; then
    # a fresh cluster: let local TCP connections in without a password, as the tests expect
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
fi

# PostgreSQL on 127.0.0.1:5432 with trust auth for local connections (the tests' warehouse
# and the real-Airflow suite's metadata database).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1" >/dev/null || {
  echo "PostgreSQL answers but user postgres cannot log in over TCP (trust auth expected)" >&2
  exit 1
}

# Redis on 127.0.0.1:6379: the Celery broker of the scale-out test (keeps nothing on disk).
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 30); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 1
done
redis-cli -h 127.0.0.1 -p 6379 ping
