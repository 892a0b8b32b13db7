package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A receiver whose replicas share one PostgreSQL database. Compile-only:
// it needs a server.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // the primary: target_session_attrs=read-write
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// Idempotent and safe from every replica at once; or migrate pgstore.SchemaSQL().
	if err := pgstore.CreateSchema(ctx, pool); err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close(ctx)
	rcv, err := codathook.New(
		codathook.WithSecrets(os.Getenv("CODAT_WEBHOOK_SECRET")),
		codathook.WithLegacyAuthorization(os.Getenv("CODAT_LEGACY_AUTH")),
		codathook.WithDedupe(store, nil),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rcv.Close(ctx)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := rcv.Ready(r.Context()); err != nil { // pings the database
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}
