package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPrefix starts the name of every table, index and sequence the
// store uses, unless [WithPrefix] says otherwise.
const DefaultPrefix = "codathook_dedupe_"

// maxPrefix is the longest prefix whose names fit PostgreSQL's 63-byte
// identifiers: the longest suffix is "arrivals_expires_idx" (20 bytes).
const maxPrefix = 63 - len("arrivals_expires_idx")

// names are the store's schema objects, each quoted and qualified (or
// unqualified when the schema is left to search_path).
type names struct {
	schema   string // as given; "" for search_path's current schema
	prefix   string
	claims   string // the claims table
	arrivals string // the arrivals table
	seq      string // the sequence of arrival ids
}

// newNames checks prefix and names the objects under schema and prefix.
func newNames(schema, prefix string) (names, error) {
	switch {
	case prefix == "":
		return names{}, errors.New("pgstore: empty table prefix")
	case len(prefix) > maxPrefix:
		return names{}, fmt.Errorf("pgstore: table prefix %q is longer than %d bytes (PostgreSQL identifiers are at most 63)", prefix, maxPrefix)
	case strings.ContainsRune(prefix, 0) || strings.ContainsRune(schema, 0):
		return names{}, errors.New("pgstore: NUL byte in the schema or table prefix")
	}
	return names{
		schema:   schema,
		prefix:   prefix,
		claims:   ident(schema, prefix+"claims"),
		arrivals: ident(schema, prefix+"arrivals"),
		seq:      ident(schema, prefix+"arrival_id"),
	}, nil
}

// ident is the quoted name of object in schema ("" for unqualified).
func ident(schema, object string) string {
	if schema == "" {
		return pgx.Identifier{object}.Sanitize()
	}
	return pgx.Identifier{schema, object}.Sanitize()
}

// literal quotes s as an SQL string literal (standard_conforming_strings,
// PostgreSQL's default since 9.1).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ddl is the schema, for [SchemaSQL] and [CreateSchema].
func (n names) ddl() string {
	var b strings.Builder
	if n.schema != "" {
		fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n\n", pgx.Identifier{n.schema}.Sanitize())
	}
	idx := func(suffix string) string { return pgx.Identifier{n.prefix + suffix}.Sanitize() }
	fmt.Fprintf(&b, `-- Claim keys (dedupe.Store's Claim, Commit and Release): one row per key
-- held or committed. A key is absent or expired, Pending (done false) or
-- Done (done true) until expires.
CREATE TABLE IF NOT EXISTS %[1]s (
	expires timestamptz NOT NULL,
	done    boolean     NOT NULL,
	key     bytea       NOT NULL PRIMARY KEY -- the first 16 bytes of SHA-256(claim key)
);
CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (expires);

-- Arrivals (dedupe.Store's Arrive): one row per recorded arrival of an
-- occurrence key.
CREATE SEQUENCE IF NOT EXISTS %[3]s;
CREATE TABLE IF NOT EXISTS %[4]s (
	at      bigint      NOT NULL, -- the occurrence time, Unix milliseconds
	id      bigint      NOT NULL, -- from the sequence: the order arrivals were recorded in
	epoch   bigint      NOT NULL, -- the slot's epoch (random, drawn with the slot)
	slot    bigint      NOT NULL, -- the slot: its own id, or its twin's slot
	expires timestamptz NOT NULL,
	paired  boolean     NOT NULL,
	okey    bytea       NOT NULL, -- the first 16 bytes of SHA-256(occurrence key)
	side    bytea       NOT NULL,
	member  bytea       NOT NULL,
	PRIMARY KEY (okey, at, id)
);
CREATE INDEX IF NOT EXISTS %[5]s ON %[4]s (expires);
ALTER SEQUENCE %[3]s OWNED BY %[4]s.id;
`, n.claims, idx("claims_expires_idx"), n.seq, n.arrivals, idx("arrivals_expires_idx"))
	return b.String()
}

// SchemaSQL returns the statements [CreateSchema] runs, for apps that
// manage their schema with a migration tool: CREATE SCHEMA (with
// [WithSchema]), the claims and arrivals tables with their indexes, and the
// sequence of arrival ids, all IF NOT EXISTS. Only [WithSchema] and
// [WithPrefix] matter here. Without WithSchema the names are unqualified:
// run the statements with the search_path the store will have.
func SchemaSQL(opts ...Option) (string, error) {
	o := newOptions(opts)
	n, err := newNames(o.schema, o.prefix)
	if err != nil {
		return "", err
	}
	return n.ddl(), nil
}

// schemaLock is the advisory lock CreateSchema holds while it creates
// objects: PostgreSQL's CREATE ... IF NOT EXISTS can fail when two
// sessions create one object at once (a unique violation in the catalog),
// as replicas starting together would.
const schemaLock = 0x636f6461_74686f6f // "codathoo"

// CreateSchema creates the store's tables, indexes and sequence (see
// [SchemaSQL]) in pool's database if they do not exist yet, in one
// transaction. It is idempotent and safe to run from several processes at
// once (it holds an advisory lock meanwhile), so every replica may call it
// at start, before [New]. The role needs the CREATE privilege on the schema
// (and on the database, for a new schema with [WithSchema]). Only
// [WithSchema] and [WithPrefix] matter here; pass the same ones to New.
func CreateSchema(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	if pool == nil {
		return errors.New("pgstore: nil pool")
	}
	return createSchema(ctx, pool, opts...)
}

func createSchema(ctx context.Context, q querier, opts ...Option) error {
	ddl, err := SchemaSQL(opts...)
	if err != nil {
		return err
	}
	// One simple-protocol query: its statements run as one transaction,
	// the lock first.
	if _, err := q.Exec(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d);\n", int64(schemaLock))+ddl); err != nil {
		return fmt.Errorf("pgstore: creating the schema: %w", err)
	}
	return nil
}
