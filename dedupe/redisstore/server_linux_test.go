package redisstore_test

import (
	"os/exec"
	"syscall"
)

// diesWithParent makes the kernel kill cmd if the test process dies
// first (a panic, a -timeout), so no redis-server outlives a run, and puts
// it in a process group of its own, so that signal reaches the children it
// forks too.
func diesWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// signal sends sig to cmd and the children it forked (an AOF rewrite or an
// RDB save), which would otherwise go on writing into its directory after
// it was killed.
func signal(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
