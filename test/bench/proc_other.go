//go:build !linux

package bench

import (
	"errors"
	"os/exec"
	"time"
)

func setChildAttrs(*exec.Cmd) {}

func processCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time is only read on Linux")
}
