package relay

import (
	"os/exec"
	"syscall"
)

// stopWithParent has the kernel stop geth when this process dies, so that
// no development chain outlives a killed localnet.
func stopWithParent(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
