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

func processRSS(int) (int64, int64, int64, error) {
	return 0, 0, 0, errors.New("process memory is only read on Linux")
}

func processAnonHuge(int) (int64, error) {
	return 0, errors.New("process memory is only read on Linux")
}

func transparentHugePages() string { return "" }

func memTotal() (int64, error) {
	return 0, errors.New("machine memory is only read on Linux")
}
