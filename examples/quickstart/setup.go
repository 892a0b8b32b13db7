package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/toggle"
)

// endpoints says which endpoints process deliveries: both, without a flag
// file; else what the file's flags say at startup, for a company they do
// not target.
type endpoints struct{ legacy, new bool }

// setup returns the options for -flags, the endpoints it turns on, and a
// cleanup function.
func setup(ctx context.Context, flagsFile string, logger *slog.Logger) ([]codathook.Option, endpoints, func(), error) {
	if flagsFile == "" {
		return nil, endpoints{legacy: true, new: true}, func() {}, nil
	}
	p, err := toggle.NewFileProvider(flagsFile, &toggle.FileConfig{Logger: logger})
	if err != nil {
		return nil, endpoints{}, func() {}, fmt.Errorf("-flags: %w", err)
	}
	if err := openfeature.SetProviderAndWait(p); err != nil {
		return nil, endpoints{}, func() {}, fmt.Errorf("-flags: %w", err)
	}
	client := openfeature.NewDefaultClient()
	on := func(flag string, ep codathook.Endpoint) bool {
		// A flag that cannot be evaluated fails open, as the receiver's gate does.
		v, _ := client.BooleanValue(ctx, flag, true, openfeature.NewEvaluationContext("", map[string]any{"endpoint": string(ep)}))
		return v
	}
	eps := endpoints{legacy: on(toggle.DefaultLegacyFlag, codathook.EndpointLegacy), new: on(toggle.DefaultNewFlag, codathook.EndpointNew)}
	logger.Info("flags: endpoints follow the flag file; edits apply to the next delivery", slog.String("file", flagsFile),
		slog.Bool(toggle.DefaultLegacyFlag, eps.legacy), slog.Bool(toggle.DefaultNewFlag, eps.new))
	return []codathook.Option{codathook.WithFlags(client, nil)}, eps, openfeature.Shutdown, nil
}

// flagOf is the flag that gates ep (the quickstart keeps toggle's default
// keys).
func flagOf(ep codathook.Endpoint) string {
	if ep == codathook.EndpointLegacy {
		return toggle.DefaultLegacyFlag
	}
	return toggle.DefaultNewFlag
}

// matchWhy explains each kind of key a duplicate can match
// (codathook.Outcome.Match).
var matchWhy = map[string]string{
	"message":    "the same message again: a retry or resend (same webhook-id), or a legacy retry",
	"event":      "the same event id in either format",
	"occurrence": "an id both formats carry: push operation key, expenses sync id, report id, or one legacy dataset",
	"twin":       "the same occurrence in the other format: company, connection, type and status, within the pairing window",
}

// observe logs why a delivery was not processed: the key a duplicate
// matched, the flag that skipped it.
func observe(logger *slog.Logger) codathook.Option {
	return codathook.WithObserver(func(ctx context.Context, o codathook.Outcome) {
		switch o.Result {
		case codathook.ResultDuplicate:
			logger.InfoContext(ctx, "duplicate: acknowledged, its callback not run again",
				slog.String("endpoint", string(o.Endpoint)), slog.String("event_type", o.EventType),
				slog.String("match", o.Match), slog.String("why", matchWhy[o.Match]), slog.String("delivery_id", o.DeliveryID))
		case codathook.ResultSkipped, codathook.ResultDeferred:
			logger.InfoContext(ctx, string(o.Result)+": the endpoint's flag is off, so the delivery is not processed",
				slog.String("endpoint", string(o.Endpoint)), slog.String("event_type", o.EventType),
				slog.String("flag", flagOf(o.Endpoint)), slog.String("delivery_id", o.DeliveryID))
		}
	})
}
