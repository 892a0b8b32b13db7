// Package pgstore is a [dedupe.Store] on PostgreSQL (github.com/jackc/pgx/v5,
// through a pgxpool.Pool), for receivers running as several replicas:
// every replica that shares the store's tables sees the others' claims,
// commits and arrivals, so an occurrence is processed once across the
// fleet. It is a separate module so that the core module does not depend
// on a PostgreSQL driver.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	if err := pgstore.CreateSchema(ctx, pool); err != nil { ... }
//	store, err := pgstore.New(ctx, pool)
//	...
//	rcv, err := codathook.New(..., codathook.WithDedupe(store, nil))
package pgstore
