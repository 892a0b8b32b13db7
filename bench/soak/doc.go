// Package soak holds the migration soak, the multi-replica test and the
// migration simulation. The soak and the replica test play Codat's two
// webhook services against three receivers that share one redis-server,
// with retries, resends, concurrent copies, failing callbacks and flag
// flips, and check that nothing is lost or doubled.
//
// The migration simulation (TestMigrationRunbook, TestMigrationRunbookOffset,
// TestMigrationDroppedDelivery) plays the whole migration runbook
// (docs/MIGRATION.md) in simulated time: a simulated clock drives the
// receivers and the sender, so weeks of Codat traffic (legacy retries within
// two minutes, Svix's 28-hour schedule with jitter, deliveries that first
// reach us hours late, dropped deliveries) run in seconds, and it checks that
// every occurrence whose endpoint was enabled reaches a callback exactly once,
// and that every replica's migration-readiness report (rcv.Migration), read
// whenever a pairing window comes due and at each stage's end, counts what the
// replica settled and reports the runbook step the stage has reached.
// Redis TTLs run on real time, so nothing expires in Redis during a
// simulation.
//
// It lives in the bench module, which keeps go-redis and the baselines'
// libraries out of codathook's go.mod. Run it from bench/ with a
// redis-server at REDIS_ADDR (scripts/test.sh starts one):
//
//	REDIS_ADDR=127.0.0.1:6379 go test -run Soak -soak.occurrences 5000 -v ./soak
//	REDIS_ADDR=127.0.0.1:6379 go test -run Migration -v ./soak
//	REDIS_ADDR=127.0.0.1:6379 go test -run TestMigrationRunbook -migration.long -v ./soak
package soak
