#!/usr/bin/env bash
# Make sure the local servers medlake's tests talk to are up; start any that is down.
# These are Debian packages installed on the machine; the commands are those the machine uses.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port name
  for _ in $(seq 1 60); do up "$1" && { echo "services: $2 is up on $1"; return 0; }; sleep 0.5; done
  echo "services: $2 did not come up on port $1" >&2; return 1
}

ensure() {  # port name command...
  local port=$1 name=$2; shift 2
  if up "$port"; then echo "services: $name is up on $port"; return 0; fi
  echo "services: starting $name"
  "$@" >/dev/null 2>&1 || true
  wait_for "$port" "$name"
}

status=0
ensure 5432 postgresql bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' || status=1
ensure 3306 mariadb start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || status=1
ensure 1883 mosquitto mosquitto -d -c /etc/mosquitto/mosquitto.conf || status=1
ensure 6379 redis redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log || status=1
ensure 5672 rabbitmq rabbitmq-server -detached || status=1
ensure 4222 nats start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
  -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || status=1
exit $status
