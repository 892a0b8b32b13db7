module github.com/codathook/codathook

go 1.26.0

require (
	github.com/gorilla/mux v1.8.1
	github.com/open-feature/go-sdk v1.20.0
	golang.org/x/sync v0.25.0
)

require go.uber.org/mock v0.6.0 // indirect
