// Command chi runs a Codat webhook receiver in a chi router. chi accepts
// standard net/http handlers and middleware, so no adapter is needed:
//
//	POST /tenants/{tenant}/webhooks/codat          new (Svix-signed) deliveries, typed callbacks
//	POST /tenants/{tenant}/webhooks/codat/legacy   legacy rule deliveries, typed callbacks
//	POST /tenants/{tenant}/webhooks/codat/wrapped  new deliveries through rcv.Middleware to a plain handler
//
// Callbacks read the tenant with chi.URLParam(d.Request, "tenant"). Each
// processed event is logged on stderr.
//
// Environment:
//
//	ADDR                  listen address (default 127.0.0.1:8080)
//	CODAT_WEBHOOK_SECRET  whsec_ secret of the new endpoint
//	CODAT_LEGACY_AUTH     accepted Authorization value of the legacy endpoint
//
// When a secret is unset, the fixed development values of codathooktest are
// used (never in production).
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("chi example", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	secret := envOr("CODAT_WEBHOOK_SECRET", codathooktest.DevSecret, logger)
	legacyAuth := envOr("CODAT_LEGACY_AUTH", codathooktest.DevAuthorization, logger)
	rcv, err := codathook.New(
		codathook.WithSecrets(secret),
		codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	defer rcv.Close(context.Background())
	err = register(rcv, func(ctx context.Context, tenant string, ev *codathook.Event) error {
		logger.InfoContext(ctx, "event", "tenant", tenant, "type", ev.Type, "id", ev.ID, "company", ev.CompanyID)
		return nil
	})
	if err != nil {
		return err
	}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		del, _ := codathook.DeliveryFromContext(r.Context())
		ev := del.Event
		logger.InfoContext(r.Context(), "wrapped handler", "tenant", chi.URLParam(r, "tenant"), "type", ev.Type, "id", ev.ID)
		w.WriteHeader(http.StatusNoContent)
	})

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	srv := &http.Server{
		Addr:    addr,
		Handler: newRouter(rcv, wrapped),
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("listening", "addr", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// register sends every event, with the tenant of its route, to handle.
func register(rcv *codathook.Receiver, handle func(ctx context.Context, tenant string, ev *codathook.Event) error) error {
	return codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		d, _ := codathook.DeliveryFromContext(ctx)
		return handle(ctx, chi.URLParam(d.Request, "tenant"), ev)
	})
}

// newRouter mounts both endpoints, and the wrapper form in front of wrapped.
func newRouter(rcv *codathook.Receiver, wrapped http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer)
	r.Route("/tenants/{tenant}/webhooks/codat", func(r chi.Router) {
		r.Method(http.MethodPost, "/", rcv.Handler(codathook.EndpointNew))
		r.Method(http.MethodPost, "/legacy", rcv.Handler(codathook.EndpointLegacy))
		r.With(rcv.Middleware(codathook.EndpointNew)).Method(http.MethodPost, "/wrapped", wrapped)
	})
	return r
}

func envOr(key, dev string, logger *slog.Logger) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	logger.Warn("using the development value; set it for anything but local testing", "env", key)
	return dev
}
