package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/toggle"
)

// setup returns the options for -flags and -redis, and a cleanup function.
func setup(ctx context.Context, flagsFile, redisAddr string, logger *slog.Logger) ([]codathook.Option, func(), error) {
	var opts []codathook.Option
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	if flagsFile != "" {
		p, err := toggle.NewFileProvider(flagsFile, toggle.WithLogger(logger))
		if err != nil {
			return nil, cleanup, fmt.Errorf("-flags: %w", err)
		}
		if err := openfeature.SetProviderAndWait(p); err != nil {
			return nil, cleanup, fmt.Errorf("-flags: %w", err)
		}
		cleanups = append(cleanups, openfeature.Shutdown)
		opts = append(opts, codathook.WithFlags(openfeature.NewDefaultClient(), nil))
		logger.Info("flags: endpoints follow the flag file; edits apply to the next delivery", slog.String("file", flagsFile))
	}
	if redisAddr != "" {
		store, closeStore, err := redisStore(ctx, redisAddr, logger)
		if err != nil {
			return nil, cleanup, fmt.Errorf("-redis: %w", err)
		}
		cleanups = append(cleanups, closeStore)
		opts = append(opts, codathook.WithStore(store))
	}
	return opts, cleanup, nil
}
