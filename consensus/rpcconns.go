package consensus

import (
	"syscall"
)

// rpcFileReserve is how many file descriptors the RPC's connection limit
// leaves to the rest of the node: Badger's tables and value logs, CometBFT's
// LevelDB files, P2P connections, the API's connections.
const rpcFileReserve = 2048

// minRPCConns is the least the RPC accepts at once, whatever the file limit.
const minRPCConns = 100

// rpcConnLimit is the RPC's open-connection limit for a configured
// rpc.max_open_connections and the process's open-file limit (nofile, 0 when
// unknown). CometBFT queues connections beyond the limit until one of those
// open ends, and it ends an idle one only after its 10 s read timeout: with
// CometBFT's default of 900, a thousand connections that never send a
// request stall every client for about 10 s. 0 (jinlian's default) means as
// many as the file limit leaves after rpcFileReserve; a configured value is
// kept unless the file limit cannot hold it.
func rpcConnLimit(configured int, nofile uint64) int {
	budget := minRPCConns
	if nofile > rpcFileReserve+minRPCConns {
		budget = int(min(nofile-rpcFileReserve, 1<<20))
	}
	if configured <= 0 || configured > budget {
		return budget
	}
	return configured
}

// openFileLimit is the process's soft RLIMIT_NOFILE (Go raises it to the
// hard limit at start), or 0 when it cannot be read.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}
