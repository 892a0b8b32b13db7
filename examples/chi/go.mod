module github.com/codathook/codathook/examples/chi

go 1.26.0

require github.com/codathook/codathook v0.0.0-00010101000000-000000000000

require golang.org/x/sync v0.25.0 // indirect

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/open-feature/go-sdk v1.20.0 // indirect
	go.uber.org/mock v0.6.0 // indirect
)

// The example builds against the code in this repository.
replace github.com/codathook/codathook => ../..
