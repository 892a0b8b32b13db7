package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/redisscript"
	"github.com/codathook/codathook/internal/resp"
)

// redisPrefixEnv names the environment variable that overrides the Redis
// key prefix (default redisscript.DefaultPrefix, the prefix the redisstore
// module uses too, so a quickstart and a go-redis receiver share keys).
const redisPrefixEnv = "CODATHOOK_REDIS_PREFIX"

// redisStore returns the dedupe store for -redis ADDR: the same commands,
// Lua scripts and keys as the redisstore module (internal/redisscript),
// over a small standard-library client (internal/resp), so the quickstart
// stays in the core module without a Redis dependency. It fails closed: a
// Redis error makes the receiver answer 503 and Codat retry.
func redisStore(ctx context.Context, addr string, logger *slog.Logger) (dedupe.Store, func(), error) {
	c, err := resp.Dial(ctx, addr, nil)
	if err != nil {
		return nil, func() {}, fmt.Errorf("redis-server at %s: %w", addr, err)
	}
	prefix := redisscript.DefaultPrefix
	if p := os.Getenv(redisPrefixEnv); p != "" {
		prefix = p
	}
	s := redisscript.New(c, redisscript.Config{Prefix: prefix, Logger: logger})
	logger.Info("dedupe: Redis store; replicas sharing it and its prefix see each other's deliveries",
		slog.String("addr", addr), slog.String("prefix", prefix))
	return s, func() {
		_ = s.Close(context.Background())
		_ = c.Close()
	}, nil
}
