package consensus

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// FreeBasePort finds a BasePort for a network of n nodes on 127.0.0.1 whose
// every port (PortsPerNode per node) can be bound now. Another process may
// take one before the network starts; tests retry with a fresh network.
func FreeBasePort(n int) (int, error) {
	if n <= 0 {
		return 0, errors.New("free base port: no nodes")
	}
	const lo, hi = 20000, 60000
	span := PortsPerNode * n
	for range 50 {
		base := lo + rand.IntN((hi-lo-span)/PortsPerNode)*PortsPerNode
		if portsFree(base, span) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("free base port: no free range of %d ports", span)
}

func portsFree(base, span int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for p := base; p < base+span; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}
