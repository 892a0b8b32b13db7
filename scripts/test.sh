#!/usr/bin/env bash
# Runs every module's tests with -race, the Redis-backed ones against a real
# redis-server and the migration page's in headless Chromium. On a fresh
# machine it installs redis-server and chromium (Debian/Ubuntu, apt-get)
# and starts a throwaway redis-server on a loopback port for the run,
# with AOF (appendfsync everysec) as a durable deployment has it. Set
# REDIS_ADDR to use a server you already run instead. Tests that need a
# server of their own (restarts, CONFIG SET: dedupe/redisstore) start
# redis-server themselves, from REDIS_SERVER, set here from PATH; the
# script fails if one of them outlives the run.
#
#   scripts/test.sh              # every module
#   scripts/test.sh -short       # extra flags are passed to go test
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The tests' temporary directories, where their own redis-servers run.
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# install installs Debian packages with apt-get (updating its lists once).
updated=""
install() {
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	if [ -z "$updated" ]; then
		$sudo apt-get update -qq >/dev/null
		updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# The migration page is checked in a real headless browser
# (TestMigrationPageInBrowser); set CHROMIUM to use one of your own.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 &&
	! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
	echo "test.sh: installing chromium" >&2
	install chromium
fi

if [ -z "${REDIS_ADDR:-}" ]; then
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "test.sh: installing redis-server" >&2
		install redis-server
	fi
	port=${REDIS_PORT:-6399}
	# A server already on the port (another run's, perhaps still shutting
	# down) would answer the pings below and then vanish mid-run: take the
	# next free port instead.
	while redis-cli -p "$port" ping >/dev/null 2>&1; do
		port=$((port + 1))
	done
	rdir=$(mktemp -d)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
		--maxmemory-policy noeviction \
		--daemonize yes --pidfile "$rdir/redis.pid" --dir "$rdir" --logfile "$rdir/redis.log"
	# shutdown is synchronous, so the port is free again when the script ends.
	cleanup() {
		redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$rdir/redis.pid" 2>/dev/null)" 2>/dev/null || true
		rm -rf "$rdir" "$tmp"
	}
	# Ours is up once it has written its pid file (after binding) and answers.
	for _ in $(seq 1 50); do
		[ -s "$rdir/redis.pid" ] && redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! [ -s "$rdir/redis.pid" ] || ! redis-cli -p "$port" ping >/dev/null; then
		echo "test.sh: redis-server did not start on 127.0.0.1:$port:" >&2
		cat "$rdir/redis.log" >&2 || true
		exit 1
	fi
	export REDIS_ADDR="127.0.0.1:$port"
	echo "test.sh: redis-server on $REDIS_ADDR" >&2
fi

if [ -z "${REDIS_SERVER:-}" ] && command -v redis-server >/dev/null 2>&1; then
	REDIS_SERVER=$(command -v redis-server)
	export REDIS_SERVER
fi

status=0
for mod in $(find . -name go.mod -not -path './.git/*' | sort); do
	dir=$(dirname "$mod")
	echo "== $dir" >&2
	(cd "$root/$dir" && go vet ./... && TMPDIR="$tmp" go test -race -count=1 -shuffle=on "$@" ./...) || status=1
done

# A redis-server a test started runs in its t.TempDir(), under $tmp; none
# may be left (redis-server rewrites its command line, so look at cwd).
for pid in $(pgrep -x redis-server || true); do
	case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in
	"$tmp"/*)
		echo "test.sh: a test left redis-server $pid running ($(readlink "/proc/$pid/cwd")); killing it" >&2
		kill -9 "$pid" 2>/dev/null || true
		status=1
		;;
	esac
done
exit $status
