package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// ServeOptions configure the network of one run (`jinlian bench serve`).
type ServeOptions struct {
	App           string // kvstore, jinlian or jinlian-shared
	Home          string
	Validators    int
	BasePort      int
	TimeoutCommit time.Duration
	// MempoolSize is every node's mempool.size (0: jinlian's default).
	MempoolSize int
	// TxIndex is every node's tx_index.indexer ("": each app's default:
	// kv for kvstore, none for jinlian's validators, ADR 0028).
	TxIndex string
	// AccountsFile (jinlian) lists the addresses to fund, one per line,
	// members of localnet.BenchOrg, or of localnet.BenchOrgB when the
	// address is followed by that name.
	AccountsFile string
	// BenchCAFile (jinlian) holds the root certificate (PEM) of
	// localnet.BenchOrg, whose members then sign with the certificates
	// it issued (localnet.Options.BenchRootCA).
	BenchCAFile string
	// SyntheticAccounts (jinlian): generated accounts the genesis funds.
	SyntheticAccounts int64
	// ReservesInterval (jinlian) is the genesis reserves_interval
	// (localnet.Options.ReservesInterval: 0 the localnet's default,
	// negative none).
	ReservesInterval int64
	// PProf, if set, serves net/http/pprof there (127.0.0.1:port).
	PProf string
	// API (jinlian): every validator serves the API (plain HTTP on
	// loopback), and so keeps the movement index, as a bank's validator
	// that serves its members does (ADR 0029).
	API bool
}

// Serve starts the network of a run and returns the line to print once it
// runs and the function that stops it.
func Serve(o ServeOptions, cometLog cmtlog.Logger, appLog *slog.Logger) (Ready, func() error, error) {
	if o.PProf != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		l, err := net.Listen("tcp", o.PProf)
		if err != nil {
			return Ready{}, nil, fmt.Errorf("--pprof: %w", err)
		}
		go func() { _ = http.Serve(l, mux) }()
	}
	var (
		rpcs []string
		stop func() error
	)
	switch o.App {
	case "jinlian", "jinlian-shared":
		var extra, extraB []string
		if o.AccountsFile != "" {
			bz, err := os.ReadFile(o.AccountsFile)
			if err != nil {
				return Ready{}, nil, err
			}
			for _, line := range strings.Split(string(bz), "\n") {
				switch f := strings.Fields(line); {
				case len(f) == 1:
					extra = append(extra, f[0])
				case len(f) == 2 && f[1] == localnet.BenchOrgB:
					extraB = append(extraB, f[0])
				case len(f) != 0:
					return Ready{}, nil, fmt.Errorf("--accounts-file: line %q: want an address, optionally followed by %s", line, localnet.BenchOrgB)
				}
			}
		}
		var benchCA []byte
		if o.BenchCAFile != "" {
			var err error
			if benchCA, err = os.ReadFile(o.BenchCAFile); err != nil {
				return Ready{}, nil, fmt.Errorf("--bench-ca: %w", err)
			}
		}
		ln, err := localnet.Prepare(localnet.Options{
			Home: o.Home, Validators: o.Validators, BasePort: o.BasePort, ChainID: ChainID,
			TimeoutCommit: o.TimeoutCommit, ExtraFundedAccounts: extra, ExtraFundedAccountsB: extraB,
			BenchRootCA:        string(benchCA),
			SyntheticAccounts:  o.SyntheticAccounts,
			ReservesInterval:   o.ReservesInterval,
			SeparateSigCaches:  o.App != "jinlian-shared",
			CheckpointInterval: checkpointInterval(o.Validators),
			EventsIndex:        validatorsEventsIndex(o.TxIndex),
		})
		if err != nil {
			return Ready{}, nil, err
		}
		for i, nn := range ln.Network.Nodes {
			if err := setCometConfig(nn.Home, o.MempoolSize, o.TxIndex); err != nil {
				return Ready{}, nil, err
			}
			if o.API { // +2 of node 0 is --pprof's
				if err := serveAPI(nn.Home, fmt.Sprintf("127.0.0.1:%d", o.BasePort+consensus.PortsPerNode*i+3)); err != nil {
					return Ready{}, nil, err
				}
			}
		}
		nodes, err := ln.Start(context.Background(), cometLog, appLog)
		if err != nil {
			return Ready{}, nil, err
		}
		for _, n := range nodes {
			rpcs = append(rpcs, n.RPCAddr())
		}
		stop = func() error { return node.StopAll(nodes) }
	case "kvstore":
		specs := make([]consensus.NodeSpec, o.Validators)
		for i := range specs {
			specs[i] = consensus.NodeSpec{Moniker: fmt.Sprintf("node%d", i), Power: 10}
		}
		net, err := consensus.WriteNetwork(consensus.NetworkOptions{
			Dir: o.Home, ChainID: ChainID, Nodes: specs, BasePort: o.BasePort, TimeoutCommit: o.TimeoutCommit,
		})
		if err != nil {
			return Ready{}, nil, err
		}
		var nodes []*consensus.Node
		stop = func() error {
			var errs []error
			for i := len(nodes) - 1; i >= 0; i-- {
				errs = append(errs, nodes[i].Stop())
			}
			return errors.Join(errs...)
		}
		for _, nn := range net.Nodes {
			if err := setCometConfig(nn.Home, o.MempoolSize, o.TxIndex); err != nil {
				return Ready{}, nil, errors.Join(err, stop())
			}
			n, err := consensus.StartNode(nn.Home, kvstore.NewInMemoryApplication(), consensus.NodeOptions{Logger: cometLog})
			if err != nil {
				return Ready{}, nil, errors.Join(err, stop())
			}
			nodes = append(nodes, n)
			rpcs = append(rpcs, n.RPCAddr())
		}
	default:
		return Ready{}, nil, fmt.Errorf("--app %q: want kvstore, jinlian or jinlian-shared", o.App)
	}
	return Ready{ChainID: ChainID, RPC: rpcs}, stop, nil
}

// setCometConfig writes mempool.size (0: leaves it) and tx_index.indexer
// ("": leaves it) into home's config.toml.
func setCometConfig(home string, size int, indexer string) error {
	if size == 0 && indexer == "" {
		return nil
	}
	c, err := consensus.LoadConfig(home)
	if err != nil {
		return err
	}
	if size != 0 {
		c.Mempool.Size = size
	}
	if indexer != "" {
		c.TxIndex.Indexer = indexer
	}
	return consensus.WriteConfig(home, c)
}

// serveAPI sets api.listen in home's jinlian.toml, with the movement
// index it keeps by default.
func serveAPI(home, addr string) error {
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		return err
	}
	cfg.API.Listen = addr
	if !cfg.Recon.MovementIndex {
		return fmt.Errorf("%s: recon.movement_index is off", home)
	}
	return cfg.WriteFile()
}

// Ready is the line `jinlian bench serve` prints once its nodes run.
type Ready struct {
	ChainID string   `json:"chain_id"`
	RPC     []string `json:"rpc"`
}

// child is a running `jinlian bench serve` process.
type child struct {
	cmd   *exec.Cmd
	ready Ready
	done  chan struct{}
}

func startChild(self string, args, env []string, logPath string, timeout time.Duration) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c := exec.Command(self, args...)
	c.Stderr = logf
	c.Env = append(os.Environ(), env...)
	if os.Getenv("GOMEMLIMIT") == "" {
		if total, err := memTotal(); err == nil {
			// A soft limit under the machine's memory, so that the
			// validators' genesis peak (all of them hold their genesis
			// working trees until the first commit) is collected before
			// the machine runs out rather than after.
			c.Env = append(c.Env, fmt.Sprintf("GOMEMLIMIT=%dMiB", total*3/4>>20))
		}
	}
	setChildAttrs(c)
	out, err := c.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := c.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	ch := &child{cmd: c, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		_ = c.Wait()
		logf.Close()
		close(ch.done)
	}()
	select {
	case line, ok := <-lines:
		if ok && json.Unmarshal([]byte(line), &ch.ready) == nil && len(ch.ready.RPC) > 0 {
			return ch, nil
		}
		ch.kill()
		return nil, fmt.Errorf("node process did not start (see %s)", logPath)
	case <-time.After(timeout):
		ch.kill()
		return nil, fmt.Errorf("node process did not start within %s (see %s)", timeout, logPath)
	}
}

// stop sends SIGTERM and waits for the process to end.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.kill()
		return errors.New("node process ignored SIGTERM for 30s: killed")
	}
	if ps := c.cmd.ProcessState; !ps.Success() {
		return fmt.Errorf("node process: %s", ps)
	}
	return nil
}

func (c *child) kill() {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// checkpointInterval: the localnet's default, or none for more validators
// than the development checkpoint circuit has slots (kvstore has no
// checkpoints either; the QCs stay).
func checkpointInterval(validators int) int64 {
	if validators > checkpoint.DevSlots {
		return -1
	}
	return 0
}

// validatorsEventsIndex is the events.index of jinlian's validators for
// --tx-index indexer: their own default, auto (no tx index on a
// validator: ADR 0028); kv gives them the lean index, which a validator
// keeps that serves the API with recon.movement_index off or that an
// operator sets; null none.
func validatorsEventsIndex(indexer string) string {
	switch indexer {
	case "kv":
		return nodecfg.EventsIndexLean
	case "null":
		return nodecfg.EventsIndexNone
	}
	return nodecfg.EventsIndexAuto
}

// ledgerEnvOf is what of env (os.Environ's form) sets the ledger of app's
// nodes: the JINLIAN_LEDGER_* variables for jinlian, sorted; none for
// kvstore.
func ledgerEnvOf(app string, env []string) []string {
	if app == "kvstore" {
		return nil
	}
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "JINLIAN_LEDGER_") {
			out = append(out, kv)
		}
	}
	sort.Strings(out)
	return out
}

// txIndexOf is the tx index the nodes of app keep with --tx-index
// indexer, serving the API or not: CometBFT's kv for kvstore unless null;
// for jinlian's validators, what their events.index resolves to
// (nodecfg).
func txIndexOf(app, indexer string, api bool) string {
	if app == "kvstore" {
		if indexer == "null" {
			return nodecfg.EventsIndexNone
		}
		return "kv"
	}
	c := nodecfg.Default("")
	c.Node.Mode, c.Events.Index = nodecfg.ModeValidator, validatorsEventsIndex(indexer)
	if api {
		c.API.Listen = "127.0.0.1:1"
	}
	return c.EventsIndex()
}
