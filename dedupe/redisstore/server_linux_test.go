package redisstore_test

import (
	"os/exec"
	"syscall"
)

// diesWithParent makes the kernel kill cmd if the test process dies
// first (a panic, a -timeout), so no redis-server outlives a run.
func diesWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
