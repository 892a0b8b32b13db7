#!/usr/bin/env bash
# Runs every module's tests with -race, the Redis-backed ones against a real
# redis-server, the PostgreSQL-backed ones (dedupe/pgstore) against a real
# PostgreSQL and the migration page's in headless Chromium. On a fresh
# machine it installs redis-server, postgresql and chromium (Debian/Ubuntu,
# apt-get) and starts a throwaway redis-server on a loopback port for the
# run, with AOF (appendfsync everysec) as a durable deployment has it, and
# a throwaway PostgreSQL cluster (initdb in a temporary directory, as the
# postgres user when run as root) on another. Set REDIS_ADDR, or
# PGSTORE_DSN, to use a server you already run instead. Tests that need a
# server of their own (restarts, CONFIG SET: dedupe/redisstore) start
# redis-server themselves, from REDIS_SERVER, set here from PATH; the
# script fails if one of them outlives the run.
#
# The core module is tested, and every module vetted, with Go 1.27 too.
#
#   scripts/test.sh              # every module
#   scripts/test.sh -short       # extra flags are passed to go test
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The tests' temporary directories, where their own redis-servers run.
tmp=$(mktemp -d)
# The servers started below replace these with their own stops.
stop_redis() { :; }
stop_postgres() { :; }
cleanup() {
	stop_redis
	stop_postgres
	rm -rf "$tmp"
}
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
	stop_redis() {
		redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$rdir/redis.pid" 2>/dev/null)" 2>/dev/null || true
		rm -rf "$rdir"
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

# pg_bin prints the directory of PostgreSQL's initdb, pg_ctl, pg_isready
# and createdb: that of PATH's initdb (links resolved), else the newest of
# Debian's /usr/lib/postgresql/*/bin; nothing when there is none.
pg_bin() {
	local d
	for d in $(command -v initdb >/dev/null 2>&1 && dirname "$(readlink -f "$(command -v initdb)")") \
		$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_isready" ] && [ -x "$d/createdb" ]; then
			echo "$d"
			return
		fi
	done
}

if [ -z "${PGSTORE_DSN:-}" ]; then
	pgbin=$(pg_bin)
	if [ -z "$pgbin" ]; then
		echo "test.sh: installing postgresql" >&2
		# Debian's package would create and start a cluster of its own on
		# port 5432; the run needs only the one below. (createcluster.conf
		# includes this directory.)
		if [ ! -e /etc/postgresql-common/createcluster.d/codathook-test.conf ]; then
			sudo=""
			[ "$(id -u)" -eq 0 ] || sudo="sudo"
			$sudo mkdir -p /etc/postgresql-common/createcluster.d
			echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/codathook-test.conf >/dev/null
		fi
		install postgresql
		pgbin=$(pg_bin)
		if [ -z "$pgbin" ]; then
			echo "test.sh: no initdb and pg_ctl after installing postgresql" >&2
			exit 1
		fi
	fi
	# PostgreSQL refuses to run as root: as root, run it as the postgres
	# user (created if missing), else as ourselves.
	as_pg() { "$@"; }
	if [ "$(id -u)" -eq 0 ]; then
		id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
		as_pg() { runuser -u postgres -- "$@"; }
	fi
	pgdir=$(mktemp -d)
	[ "$(id -u)" -ne 0 ] || chown postgres "$pgdir"
	pgport=${PG_PORT:-55432}
	# A port something listens on is taken: take the next free one.
	while (exec 3<>"/dev/tcp/127.0.0.1/$pgport") 2>/dev/null; do
		pgport=$((pgport + 1))
	done
	(cd "$pgdir" && as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$pgdir/initdb.log" 2>&1) || {
		echo "test.sh: initdb failed:" >&2
		cat "$pgdir/initdb.log" >&2
		exit 1
	}
	# Stopped by the postmaster's pid (its pid file), fast: the run's
	# sessions are rolled back and the port is free when the script ends.
	stop_postgres() {
		if [ -s "$pgdir/data/postmaster.pid" ]; then
			(cd "$pgdir" && as_pg "$pgbin/pg_ctl" -D "$pgdir/data" stop -m fast -w >/dev/null 2>&1) ||
				kill -9 "$(head -1 "$pgdir/data/postmaster.pid")" 2>/dev/null || true
		fi
		rm -rf "$pgdir"
	}
	if ! (cd "$pgdir" && as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir" start >/dev/null); then
		echo "test.sh: PostgreSQL did not start on 127.0.0.1:$pgport:" >&2
		cat "$pgdir/postgres.log" >&2 || true
		exit 1
	fi
	for _ in $(seq 1 50); do
		"$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break
		sleep 0.1
	done
	"$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres codathook_test
	export PGSTORE_DSN="postgres://postgres@127.0.0.1:$pgport/codathook_test?sslmode=disable"
	echo "test.sh: PostgreSQL ($("$pgbin/pg_ctl" --version)) at $PGSTORE_DSN" >&2
fi

if [ -z "${REDIS_SERVER:-}" ] && command -v redis-server >/dev/null 2>&1; then
	REDIS_SERVER=$(command -v redis-server)
	export REDIS_SERVER
fi

status=0
modules=$(find . -name go.mod -not -path './.git/*' | sort)
for mod in $modules; do
	dir=$(dirname "$mod")
	echo "== $dir" >&2
	(cd "$root/$dir" && go vet ./... && TMPDIR="$tmp" go test -race -count=1 -shuffle=on "$@" ./...) || status=1
done

# The other supported Go release (docs/RELEASING.md): the core module's
# tests again, and every module's go vet (which builds its packages and
# tests), with that toolchain, which the go command fetches from the
# module proxy the first time (about 76 MB).
other_go=go1.27.3
echo "== . ($other_go)" >&2
(cd "$root" && GOTOOLCHAIN=$other_go go vet ./... &&
	TMPDIR="$tmp" GOTOOLCHAIN=$other_go go test -race -count=1 -shuffle=on "$@" ./...) || status=1
for mod in $modules; do
	dir=$(dirname "$mod")
	[ "$dir" != "." ] || continue
	echo "== $dir ($other_go: go vet)" >&2
	(cd "$root/$dir" && GOTOOLCHAIN=$other_go go vet ./...) || status=1
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
