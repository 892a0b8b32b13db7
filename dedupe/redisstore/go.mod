module github.com/codathook/codathook/dedupe/redisstore

go 1.26.0

require (
	github.com/codathook/codathook v0.1.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/open-feature/go-sdk v1.20.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.uber.org/mock v0.6.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

// For local development only: Go applies replace directives only in the
// main module, so users of this module get the required core version.
replace github.com/codathook/codathook => ../..
