package consensus

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropRPCConns shuts down every connection the process still has open on
// the local TCP ports of listenAddrs (CometBFT's rpc.laddr, comma
// separated). CometBFT's node stop closes its RPC listeners but not the
// keep-alive connections already accepted, which its HTTP server goes on
// serving from the stopped node: a client polling a node started again in
// the same process (ErrFallenBehind) would read the old node's height for
// ever. Shutting the sockets down (not closing them: the HTTP server still
// owns the descriptors) ends those connections; clients reconnect to the
// new node. Linux only (it reads /proc/self/fd); elsewhere a no-op.
func dropRPCConns(listenAddrs string) {
	ports := map[int]bool{}
	for _, a := range strings.Split(listenAddrs, ",") {
		a = strings.TrimPrefix(strings.TrimSpace(a), "tcp://")
		if _, p, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 {
				ports[n] = true
			}
		}
	}
	if len(ports) == 0 {
		return
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ports[localPort(fd)] {
			if _, err := syscall.Getpeername(fd); err == nil { // connected, not a listener
				_ = syscall.Shutdown(fd, syscall.SHUT_RDWR)
			}
		}
	}
}

// localPort is the local TCP port of socket fd, or 0.
func localPort(fd int) int {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return 0
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return a.Port
	case *syscall.SockaddrInet6:
		return a.Port
	}
	return 0
}
