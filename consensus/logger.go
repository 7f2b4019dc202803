package consensus

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/cometbft/cometbft/libs/log"
)

// quietLogger is StartNode's default: errors only, on os.Stderr, minus the
// errors CometBFT logs about its own sockets and services while the node is
// stopping ("use of closed network connection", "already stopped", "not
// started"), which would otherwise print a dozen lines per node on every
// clean Stop.
//
// Once Stop has returned it drops everything: CometBFT's initial peer dials
// sleep up to 3 s before dialing and outlive the switch, logging "Error
// dialing peer" for a node that no longer exists.
type quietLogger struct {
	log.Logger
	state *atomic.Int32
}

// Node lifecycle states seen by quietLogger.
const (
	nodeRunning int32 = iota
	nodeStopping
	nodeStopped
)

func newQuietLogger(state *atomic.Int32) log.Logger {
	return quietLogger{
		Logger: log.NewFilter(log.NewTMLogger(log.NewSyncWriter(os.Stderr)), log.AllowError()),
		state:  state,
	}
}

func (l quietLogger) Error(msg string, keyvals ...any) {
	switch l.state.Load() {
	case nodeStopped:
		return
	case nodeStopping:
		if isShutdownNoise(msg, keyvals) {
			return
		}
	}
	l.Logger.Error(msg, keyvals...)
}

func (l quietLogger) With(keyvals ...any) log.Logger {
	return quietLogger{Logger: l.Logger.With(keyvals...), state: l.state}
}

func isShutdownNoise(msg string, keyvals []any) bool {
	switch {
	case msg == "Stopped accept routine, as transport is closed",
		msg == "Won't start a peer - switch is not running",
		strings.HasPrefix(msg, "Not stopping "): // a service never started, e.g. consensus during block sync
		return true
	}
	for i := 1; i < len(keyvals); i += 2 {
		s := fmt.Sprint(keyvals[i])
		if strings.Contains(s, "use of closed network connection") || s == "already stopped" || s == "not started" {
			return true
		}
	}
	return false
}
