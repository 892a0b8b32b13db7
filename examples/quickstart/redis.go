package main

import (
	"context"
	"log/slog"

	"github.com/codathook/codathook/dedupe"
)

func redisStore(ctx context.Context, addr string, logger *slog.Logger) (dedupe.Store, func(), error) {
	return nil, func() {}, errNoRedis
}
