package node

import (
	"os/exec"
	"syscall"
)

// stopWithParent has the kernel stop jinlian-anchor when this process
// dies, so that no prover outlives a killed node.
func stopWithParent(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
