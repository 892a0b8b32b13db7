// Command gendecode writes normalize's decode_gen.go; normalize's
// //go:generate line runs it in the package directory.
package main

import (
	"fmt"
	"os"

	"github.com/codathook/codathook/normalize/internal/gendecode"
)

func main() {
	cfg, err := gendecode.ParseArgs(os.Args[1:])
	if err == nil {
		var path string
		var src []byte
		if path, src, err = gendecode.Run(".", cfg); err == nil {
			err = os.WriteFile(path, src, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendecode:", err)
		os.Exit(1)
	}
}
