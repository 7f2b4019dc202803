package consensus

import (
	"sync"

	"github.com/cometbft/cometbft/blocksync"
	cfg "github.com/cometbft/cometbft/config"
	cs "github.com/cometbft/cometbft/consensus"
	mempl "github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/statesync"
)

// cometMetrics is one chain's set of CometBFT metrics.
type cometMetrics struct {
	cs  *cs.Metrics
	p2p *p2p.Metrics
	mem *mempl.Metrics
	sm  *sm.Metrics
	prx *proxy.Metrics
	bs  *blocksync.Metrics
	ss  *statesync.Metrics
}

var (
	metricsMu    sync.Mutex
	metricsCache = map[string]*cometMetrics{}
)

// metricsProvider is CometBFT's default provider, except that with
// Prometheus on it builds each namespace and chain's metrics once per
// process: they register in Prometheus's global registry, which panics on
// a second registration, and a node started again in the same process
// (after falling behind, ErrFallenBehind) asks for them again.
func metricsProvider(c *cfg.InstrumentationConfig) node.MetricsProvider {
	def := node.DefaultMetricsProvider(c)
	if !c.Prometheus {
		return def
	}
	return func(chainID string) (*cs.Metrics, *p2p.Metrics, *mempl.Metrics, *sm.Metrics, *proxy.Metrics, *blocksync.Metrics, *statesync.Metrics) {
		metricsMu.Lock()
		defer metricsMu.Unlock()
		key := c.Namespace + "\x00" + chainID
		m := metricsCache[key]
		if m == nil {
			m = new(cometMetrics)
			m.cs, m.p2p, m.mem, m.sm, m.prx, m.bs, m.ss = def(chainID)
			metricsCache[key] = m
		}
		return m.cs, m.p2p, m.mem, m.sm, m.prx, m.bs, m.ss
	}
}
