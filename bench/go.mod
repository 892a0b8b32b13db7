module github.com/codathook/codathook/bench

go 1.26.0

require github.com/codathook/codathook v0.0.0-00010101000000-000000000000

require golang.org/x/sync v0.25.0 // indirect

require (
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/open-feature/go-sdk v1.20.0
	github.com/svix/svix-webhooks v1.44.0
	go.uber.org/mock v0.6.0 // indirect
	gopkg.in/validator.v2 v2.0.1 // indirect
)

replace github.com/codathook/codathook => ../
