// Package deps pins the core module's four dependencies until the packages
// that use them land. It is removed once every dependency has a real importer.
package deps

import (
	_ "github.com/gorilla/mux"
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/open-feature/go-sdk/openfeature"
	_ "golang.org/x/sync/singleflight"
)
