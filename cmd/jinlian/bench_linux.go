package main

import (
	"os/exec"
	"syscall"
)

// setChildAttrs makes the kernel stop the bench's node process if the bench
// itself dies, so no network outlives an interrupted run.
func setChildAttrs(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
