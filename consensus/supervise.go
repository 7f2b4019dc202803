package consensus

import "time"

// DefaultSuperviseInterval is how often a node's supervisor runs.
const DefaultSuperviseInterval = 2 * time.Second

// supervise runs until Stop: it starts the halt watch once consensus runs.
func (n *Node) supervise(every time.Duration) {
	defer n.supervisor.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n.halt.watch(n)
		select {
		case <-n.quit:
			return
		case <-t.C:
		}
	}
}
