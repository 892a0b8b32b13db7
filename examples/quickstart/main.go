// Command quickstart runs a Codat webhook receiver with both endpoints:
//
//	POST|PUT /webhooks/codat         new (Svix-signed) deliveries
//	POST|PUT /webhooks/codat/legacy  legacy rule deliveries (Authorization header)
//
// It uses the embedded defaults: an in-memory dedupe store and both endpoints
// enabled. Every event type has a callback, which prints one JSON line per
// call on stdout:
//
//	{"event_type":"connection.connected","event_id":"...","company_id":"...","format":"new","endpoint":"new","data_types":[]}
//
// Everything else goes to stderr: the commands to send it sample deliveries
// with cmd/codathook (first ones it processes, then a twin on purpose, the
// same occurrence in both formats), and the logs, which say why a delivery
// was answered as a duplicate (the kind of key it matched) or skipped (the
// flag that is off).
//
// Flags:
//
//	-addr ADDR    listen address (default 127.0.0.1:8080)
//	-flags FILE   flagd-style flag file switching the endpoints live
//	              (keys codat-new-endpoint and codat-legacy-endpoint);
//	              flags.json, next to this file, is the runbook's step 1:
//	              legacy on, new off
//
// Environment:
//
//	CODAT_WEBHOOK_SECRET  whsec_ secrets of the new endpoint (space or comma separated)
//	CODAT_LEGACY_AUTH     accepted Authorization values of the legacy endpoint (comma separated)
//
// When unset, fixed development values are used and printed.
//
// The in-memory store deduplicates within one process. Replicas that must
// see each other's deliveries share a Redis store (module dedupe/redisstore,
// on go-redis): examples/integrations/multireplica runs three.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// line is what each callback call prints on stdout.
type line struct {
	EventType string   `json:"event_type"`
	EventID   string   `json:"event_id"`
	CompanyID string   `json:"company_id"`
	Format    string   `json:"format"`
	Endpoint  string   `json:"endpoint"`
	DataTypes []string `json:"data_types"`
}

// run starts the receiver and serves until ctx is done or SIGINT/SIGTERM.
// ready, when non-nil, receives the bound address once listening.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	flagsFile := fs.String("flags", "", "flagd-style JSON flag file (codat-new-endpoint, codat-legacy-endpoint)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	secrets, devSecret := splitEnv("CODAT_WEBHOOK_SECRET", " ,", codathooktest.DevSecret)
	auths, devAuth := splitEnv("CODAT_LEGACY_AUTH", ",", codathooktest.DevAuthorization)

	opts := []codathook.Option{
		codathook.WithSecrets(secrets...),
		codathook.WithLegacyAuthorization(auths...),
		codathook.WithLogger(logger),
		observe(logger),
	}
	extra, eps, cleanup, err := setup(ctx, *flagsFile, logger)
	if err != nil {
		return err
	}
	defer cleanup()
	opts = append(opts, extra...)

	rcv, err := codathook.New(opts...)
	if err != nil {
		return err
	}
	defer rcv.Close(context.Background())

	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		l := line{EventType: ev.Type, EventID: ev.ID, CompanyID: ev.CompanyID, Format: string(ev.Format), DataTypes: []string{}}
		if d, ok := codathook.DeliveryFromContext(ctx); ok {
			l.Endpoint = string(d.Endpoint)
		}
		if rc, ok := ev.Typed.(*codathook.ReadCompletedEvent); ok {
			for _, dt := range rc.Payload.DataTypes {
				l.DataTypes = append(l.DataTypes, dt.DataType)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(l)
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	// The migration-readiness page. It has no authentication of its own:
	// in an app, mount it behind the operators' (the quickstart listens on
	// loopback).
	mux.Handle("GET /codathook/migration", rcv.MigrationHandler())

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: mux,
		// Stalled senders hold a connection no longer than these. The
		// receiver's own body deadline (codathook.WithBodyReadTimeout,
		// 5 s) is the tighter for the body; WriteTimeout, counted from
		// the end of the headers, must outlast it plus the callback
		// deadline (10 s), or late answers are cut off.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      20 * time.Second,
		IdleTimeout:       60 * time.Second,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 100}, // per connection, when served over HTTP/2
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stderr, "codathook quickstart listening on %s\n", base)
	fmt.Fprintf(stderr, "  new endpoint:    POST %s/webhooks/codat\n", base)
	fmt.Fprintf(stderr, "  legacy endpoint: POST %s/webhooks/codat/legacy\n", base)
	fmt.Fprintf(stderr, "  migration page:  GET  %s/codathook/migration (JSON with ?format=json)\n", base)
	if devSecret {
		fmt.Fprintf(stderr, "  CODAT_WEBHOOK_SECRET unset: using the development secret %s\n", codathooktest.DevSecret)
	}
	if devAuth {
		fmt.Fprintf(stderr, "  CODAT_LEGACY_AUTH unset: using the development Authorization %q\n", codathooktest.DevAuthorization)
	}
	printHints(stderr, base, eps, *flagsFile != "")

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// splitEnv returns the values of env split on any of seps, or def when the
// variable is unset or empty (and true to say so).
func splitEnv(env, seps, def string) ([]string, bool) {
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		return []string{def}, true
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(seps, r) })
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, false
}
