//go:build !linux

package redisstore_test

import "os/exec"

// diesWithParent does nothing here: only Linux has Pdeathsig. The test's
// cleanup still stops every server it started.
func diesWithParent(*exec.Cmd) {}
