//go:build !linux

package redisstore_test

import (
	"os/exec"
	"syscall"
)

// diesWithParent does nothing here: only Linux has Pdeathsig. The test's
// cleanup still stops every server it started.
func diesWithParent(*exec.Cmd) {}

// signal sends sig to cmd.
func signal(cmd *exec.Cmd, sig syscall.Signal) error { return cmd.Process.Signal(sig) }
