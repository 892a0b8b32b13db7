#!/usr/bin/env bash
# Loads codathook's receiver, a hand-written receiver (baseline B of
# cmd/compare: io.ReadAll, svix-go Verify, map[string]any, sync.Map dedupe)
# and a bare net/http server with wrk over loopback, in one run with the
# same duration, threads and connections, and reports throughput and p99
# latency of each, the ratio receiver/handwritten (issue 18's target: >= 1.2)
# and the ratio receiver/bare (the limit the receiver approaches; not a
# target).
#
#   scripts/bench-http.sh                # 3 rounds of 10 s each, 2 threads, 32 connections
#   ROUNDS=5 DURATION=5s THREADS=1 CONNECTIONS=16 scripts/bench-http.sh
#
# Each round loads the three servers back to back, in an order rotated by
# one each round, with fresh servers (and store) per round; the ratios
# reported are the medians of the rounds' ratios, since a shared machine's
# speed drifts by tens of percent between runs seconds apart.
#
# The servers are built from bench/ (bench/cmd/receiver, bench/cmd/handwritten,
# bench/cmd/bare) and
# listen on 127.0.0.1 only. The receiver runs the production pipeline: Svix
# signature check, classify, normalize, flags through OpenFeature's in-memory
# provider (FLAGS=default|inline|inline+cache|none, default "default"), the
# default in-memory dedupe store (STORE=lru|noop, default "lru"; noop
# deduplicates nothing, for reference) and a no-op callback.
#
# wrk cannot sign per request, so bench/cmd/sign first writes N pre-signed
# deliveries (each with its own webhook-id, event id and company, signed just
# before the run) and bench/wrk/post.lua sends them in order, one per
# request. The receiver therefore does all of its work for every request,
# dedupe included: nothing is replayed unless the files run out, which the
# Lua script reports as "wrapped" (raise N then) and the receiver's counters,
# printed after its run, show as duplicates. The other servers get the same
# requests from the same script, so the load generator's cost is the same
# for each.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
N=${N:-400000}
FLAGS=${FLAGS:-default}
STORE=${STORE:-lru}
RECEIVER_PORT=${RECEIVER_PORT:-18081}
BARE_PORT=${BARE_PORT:-18082}
HANDWRITTEN_PORT=${HANDWRITTEN_PORT:-18083}

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench-http.sh: installing wrk" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

go -C "$root/bench" build -o "$work/receiver" ./cmd/receiver
go -C "$root/bench" build -o "$work/bare" ./cmd/bare
go -C "$root/bench" build -o "$work/handwritten" ./cmd/handwritten
go -C "$root/bench" build -o "$work/sign" ./cmd/sign

wait_port() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "bench-http.sh: nothing listening on 127.0.0.1:$1" >&2
	return 1
}

# load NAME PORT: runs wrk against 127.0.0.1:PORT and prints its output to
# $work/NAME.wrk.
load() {
	wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency \
		-s "$root/bench/wrk/post.lua" "http://127.0.0.1:$2/webhooks/codat" -- "$work" >"$work/$1.wrk"
}

# to_us VALUE: wrk latency (e.g. 850.00us, 1.23ms, 2.00s) in microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
		else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000000 }
		else print v }'
}

rps() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.wrk"; }
p99() { to_us "$(awk '$1 == "99%" {print $2}' "$work/$1.wrk")"; }
errors() { awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {n += 1} END {print n + 0}' "$work/$1.wrk"; }

echo "machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(go version | awk '{print $3}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per server per round, $ROUNDS rounds; $N pre-signed deliveries; receiver flags: $FLAGS, store: $STORE"
echo

"$work/sign" -n "$N" -threads "$THREADS" -out "$work"

# serve NAME PORT CMD...: starts a server, loads it into $work/NAME.wrk, and
# for the receiver saves its counters to $work/NAME.stats; stops it.
serve() {
	local name=$1 port=$2
	shift 2
	"$@" -addr "127.0.0.1:$port" &
	local pid=$!
	pids+=("$pid")
	wait_port "$port"
	load "$name" "$port"
	if [ "${name%%.*}" = receiver ]; then
		curl -fsS "http://127.0.0.1:$port/stats" >"$work/$name.stats" 2>/dev/null || echo '{}' >"$work/$name.stats"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

for round in $(seq 1 "$ROUNDS"); do
	for i in 0 1 2; do
		case $(((round + i) % 3)) in
		0) serve "receiver.$round" "$RECEIVER_PORT" "$work/receiver" -flags "$FLAGS" -store "$STORE" ;;
		1) serve "handwritten.$round" "$HANDWRITTEN_PORT" "$work/handwritten" ;;
		2) serve "bare.$round" "$BARE_PORT" "$work/bare" ;;
		esac
	done
done

last=$ROUNDS
for s in receiver handwritten bare; do
	echo "== $s (round $last)"
	sed -n '/Thread Stats/,$p' "$work/$s.$last.wrk"
	echo
done
echo "receiver counters (round $last): $(cat "$work/receiver.$last.stats")"
echo

# median VALUES...: the median of the values.
median() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

printf '%-6s %13s %13s %13s %8s %8s %13s %13s %13s %7s\n' round "receiver rps" "handwr. rps" "bare rps" "r/handw" "r/bare" \
	"receiver p99" "handwr. p99" "bare p99" errors
hand=() bare=() rp99=() hp99=() bp99=()
for round in $(seq 1 "$ROUNDS"); do
	r_rps=$(rps "receiver.$round")
	h_rps=$(rps "handwritten.$round")
	b_rps=$(rps "bare.$round")
	rh=$(awk -v r="$r_rps" -v b="$h_rps" 'BEGIN {printf "%.2f", r / b}')
	rb=$(awk -v r="$r_rps" -v b="$b_rps" 'BEGIN {printf "%.2f", r / b}')
	hand+=("$rh") bare+=("$rb")
	rp99+=("$(p99 "receiver.$round")") hp99+=("$(p99 "handwritten.$round")") bp99+=("$(p99 "bare.$round")")
	printf '%-6s %13.0f %13.0f %13.0f %8s %8s %11.0fus %11.0fus %11.0fus %7d\n' "$round" "$r_rps" "$h_rps" "$b_rps" "$rh" "$rb" \
		"${rp99[-1]}" "${hp99[-1]}" "${bp99[-1]}" \
		$(($(errors "receiver.$round") + $(errors "handwritten.$round") + $(errors "bare.$round")))
done
mh=$(median "${hand[@]}")
mb=$(median "${bare[@]}")
met=$(awk -v x="$mh" 'BEGIN {print (x >= 1.2) ? "met" : "NOT met"}')
echo
echo "p99 latency, median of $ROUNDS rounds: receiver $(median "${rp99[@]}")us, handwritten $(median "${hp99[@]}")us, bare $(median "${bp99[@]}")us"
echo "throughput receiver/bare: $mb, median of $ROUNDS rounds (the limit; not a target)"
echo "throughput receiver/handwritten: $mh, median of $ROUNDS rounds (target >= 1.20: $met)"
