module github.com/codathook/codathook/dedupe/pgstore

go 1.26.0

require (
	github.com/codathook/codathook v0.1.0
	github.com/jackc/pgx/v5 v5.12.0
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/open-feature/go-sdk v1.20.0 // indirect
	go.uber.org/mock v0.6.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

// For local development only: Go applies replace directives only in the
// main module, so users of this module get the required core version.
replace github.com/codathook/codathook => ../..
