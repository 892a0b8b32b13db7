// Package soak holds the migration soak and the multi-replica test: a
// simulator plays Codat's two webhook services against three receivers that
// share one redis-server, with retries, resends, concurrent copies, failing
// callbacks and flag flips, and checks that nothing is lost or doubled.
//
// It is a separate module so that go-redis stays out of codathook's go.mod.
// Run it with a redis-server at REDIS_ADDR (scripts/test.sh starts one):
//
//	REDIS_ADDR=127.0.0.1:6379 go test -run Soak -soak.occurrences 5000 -v .
package soak
