package main

import (
	"fmt"
	"log/slog"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/toggle"
)

// setup returns the options for -flags, and a cleanup function.
func setup(flagsFile string, logger *slog.Logger) ([]codathook.Option, func(), error) {
	if flagsFile == "" {
		return nil, func() {}, nil
	}
	p, err := toggle.NewFileProvider(flagsFile, &toggle.FileConfig{Logger: logger})
	if err != nil {
		return nil, func() {}, fmt.Errorf("-flags: %w", err)
	}
	if err := openfeature.SetProviderAndWait(p); err != nil {
		return nil, func() {}, fmt.Errorf("-flags: %w", err)
	}
	logger.Info("flags: endpoints follow the flag file; edits apply to the next delivery", slog.String("file", flagsFile))
	return []codathook.Option{codathook.WithFlags(openfeature.NewDefaultClient(), nil)}, openfeature.Shutdown, nil
}
