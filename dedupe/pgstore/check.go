package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// checkTimeout bounds New's check when its context has no deadline.
const checkTimeout = 3 * time.Second

// checkSQL reads, in one round trip, what New checks: $1 the schema (""
// for the current one), $2 and $3 the claims and arrivals tables, $4 the
// sequence.
const checkSQL = `SELECT s.name,
	to_regclass(format('%I.%I', s.name, $2::text)) IS NOT NULL,
	to_regclass(format('%I.%I', s.name, $3::text)) IS NOT NULL,
	to_regclass(format('%I.%I', s.name, $4::text)) IS NOT NULL,
	pg_is_in_recovery(),
	current_setting('transaction_isolation'),
	current_setting('synchronous_commit'),
	current_setting('fsync')
FROM (SELECT coalesce(nullif($1::text, ''), current_schema()) AS name) s`

// check runs New's check and returns the store's names, qualified with
// the schema the tables are in.
func check(ctx context.Context, q querier, o *options) (names, error) {
	n, err := newNames(o.schema, o.prefix)
	if err != nil {
		return names{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, checkTimeout)
		defer cancel()
	}
	var (
		schema                         *string
		claims, arrivals, seq, standby bool
		isolation, syncCommit, fsync   string
	)
	err = q.QueryRow(ctx, checkSQL, o.schema, o.prefix+"claims", o.prefix+"arrivals", o.prefix+"arrival_id").
		Scan(&schema, &claims, &arrivals, &seq, &standby, &isolation, &syncCommit, &fsync)
	if err != nil {
		return names{}, fmt.Errorf("pgstore: checking the server: %w", err)
	}
	if schema == nil {
		return names{}, errors.New("pgstore: no current schema (search_path names no schema that exists); use WithSchema")
	}
	if !claims || !arrivals || !seq {
		return names{}, fmt.Errorf("pgstore: the store's tables %s and %s (or the sequence %s) do not exist; create them with pgstore.CreateSchema (or a migration of pgstore.SchemaSQL)",
			ident(*schema, o.prefix+"claims"), ident(*schema, o.prefix+"arrivals"), ident(*schema, o.prefix+"arrival_id"))
	}
	if standby {
		return names{}, errors.New("pgstore: the server is a read-only standby (pg_is_in_recovery); connect to the primary")
	}
	if isolation != "read committed" {
		return names{}, fmt.Errorf("pgstore: the session's transaction isolation is %s; the store's statements need read committed "+
			"(under repeatable read an arrival could miss its twin, and both be processed): "+
			"set default_transaction_isolation = 'read committed' for the store's role or in the pool's RuntimeParams", isolation)
	}
	if fsync == "off" {
		o.logger.Warn("pgstore: the server runs with fsync off: a crash of its host can lose or corrupt committed deliveries, and their resends are processed again; turn fsync on")
	}
	if syncCommit == "off" {
		o.logger.Warn("pgstore: synchronous_commit is off: a crash of the server forgets the deliveries committed in its last moments (up to 3 times wal_writer_delay), and their resends are processed again; use synchronous_commit on (or local, remote_write, remote_apply)",
			slog.String("synchronous_commit", syncCommit))
	}
	if o.schema == "" {
		n, _ = newNames(*schema, o.prefix) // checked above
	}
	return n, nil
}
