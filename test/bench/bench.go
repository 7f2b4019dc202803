package bench

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/internal/diskuse"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// ChainID is the chain every bench network runs.
const ChainID = "jinlian-bench"

// benchApps are the applications a bench can run.
var benchApps = map[string]bool{"kvstore": true, "jinlian": true, "jinlian-shared": true}

// Workloads of the jinlian apps: the transaction type the measured load is
// made of. Every workload but transfer first commits, in setup phases
// outside the measurement, the state its transactions need.
const (
	// WorkloadTransfer: CNY transfers between the funded accounts.
	WorkloadTransfer = "transfer"
	// WorkloadCustodyApprove: the second approval of a two-of-two custody
	// account's payment (signers of two organisations), which executes it.
	WorkloadCustodyApprove = "custody-approve"
	// WorkloadReceivableTransfer: a confirmed receivable's payee passes it
	// to another member down the supply chain.
	WorkloadReceivableTransfer = "receivable-transfer"
	// WorkloadPvpSettle: the counterparty funds leg B (USD) of a trade
	// whose leg A (CNY) is funded, which settles both legs.
	WorkloadPvpSettle = "pvp-settle"
)

var benchWorkloads = map[string]bool{WorkloadTransfer: true, WorkloadCustodyApprove: true, WorkloadReceivableTransfer: true, WorkloadPvpSettle: true}

// setupChunk is how many setup transactions are in flight at once: well
// under CometBFT's default mempool of 5000, on every node.
const setupChunk = 2000

// Options configure one `jinlian bench` run.
type Options struct {
	Apps []string
	// Workloads are measured one after the other for each jinlian app
	// (kvstore runs its one load once); empty: transfer.
	Workloads     []string
	Validators    int
	Rate          int
	Count         int
	Duration      time.Duration
	TimeoutCommit time.Duration
	// MempoolSize is every node's mempool.size (0: jinlian's default).
	MempoolSize int
	// MaxProposalTxs is every jinlian node's node.max_proposal_txs (0:
	// jinlian's default, 2000). kvstore proposes what block.max_bytes
	// allows.
	MaxProposalTxs int
	// TxIndex is every node's tx_index.indexer ("": the default, kv).
	TxIndex string
	// API (jinlian): every validator serves the API, with the movement
	// index it keeps (ServeOptions.API).
	API      bool
	Accounts int
	// SyntheticAccounts (jinlian): the genesis funds this many generated
	// accounts (app.SyntheticAccounts), and the transfers of the load go
	// to them, drawn uniformly, from the Accounts senders.
	SyntheticAccounts int64
	// ReservesInterval (jinlian): the genesis reserves_interval (0: the
	// localnet's default, every checkpoint interval; negative: none).
	ReservesInterval int64
	// Settle is how long to wait between a ready network and the load:
	// after a large genesis the nodes still compact and collect it.
	Settle time.Duration
	// Warmup (transfer and kvstore loads): before the measured load, offer
	// Rate for this long from transactions of their own, then wait for
	// every mempool to empty, so that the measured load finds the nodes
	// as a running network keeps them (grown heaps, filled caches, the
	// senders' SM2 tables) instead of a process that just started.
	Warmup time.Duration
	// Certs (jinlian, transfer workload): the load's senders sign with
	// certificates that the bench organisation's root CA issued, as a
	// bank's members do, instead of bare keys: every envelope carries the
	// certificate and CheckTx authenticates it. kvstore's transactions
	// take the size of such an envelope.
	Certs bool
	// CertRefs (with Certs and a warm-up): the measured load's envelopes
	// name their certificates by SM3 hash (ADR 0025) instead of carrying
	// them; the warm-up's carry them whole, which records them on chain.
	// kvstore's transactions take the size of a named envelope.
	CertRefs bool
	// History (jinlian, transfer workload): commit this many transfers
	// from the load's senders before the measured load, so that it runs
	// on a chain with that history (blocks, indexes, state versions).
	History int64
	// HeapProfile: write a heap profile of the node process after the
	// load to this file.
	HeapProfile  string
	TxSize       int
	Batch        int
	Workers      int
	Poll         time.Duration
	Drain        time.Duration
	MaxDrain     time.Duration
	CheckResults bool
	CPUProfile   string
	Keep         bool
	Repeat       int
	LogLevel     string
}

// Result is what one run of one app reports.
type Result struct {
	App           string  `json:"app"`
	Workload      string  `json:"workload,omitempty"`
	Validators    int     `json:"validators"`
	TimeoutCommit string  `json:"timeout_commit"`
	TxBytes       int     `json:"tx_bytes"`
	TargetRate    int     `json:"target_rate"`
	OfferedRate   float64 `json:"offered_rate"` // achieved
	Sent          int     `json:"sent"`
	Rejected      int     `json:"rejected"` // refused by broadcast_tx_async (mempool full, ...)
	Included      int     `json:"included"` // in committed blocks
	Failed        int     `json:"failed"`   // included with a non-zero result code
	Pending       int     `json:"pending"`  // accepted but not seen committed by the end
	Committed     int     `json:"committed"`
	// TPS counts every committed load transaction from the load's start
	// (the first transaction due) to the last block holding load seen
	// committed, or to the end of the offering if that is later:
	// FromStartSeconds. A run that stalls shows a low rate.
	TPS              float64 `json:"committed_tps"`
	FromStartSeconds float64 `json:"from_start_seconds"`
	// WindowTPS is the rate between the first and the last block holding
	// load (the first block's transactions left out), WindowSeconds apart:
	// the steady state once blocks flow, which flatters a run that waited
	// long for its first block. committed_tps before 2026-12-04.
	WindowTPS     float64 `json:"window_tps"`
	WindowSeconds float64 `json:"window_seconds"`
	// MaxStallMs is the longest time, from the load's start, that no block
	// holding load was committed: between two such blocks, or from the
	// last one to the end of the offering (the drain is left out).
	MaxStallMs float64 `json:"max_stall_ms"`
	// LateHeights counts the heights of the run decided in a round above 0
	// (their first proposal missed the round's timeouts or was refused);
	// MaxRound is the highest round any of them needed.
	LateHeights int     `json:"late_heights"`
	MaxRound    int     `json:"max_round"`
	Blocks      int     `json:"blocks"`
	MaxBlockTxs int     `json:"max_block_txs"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// NodeCPUPerTx is the node process's user+system CPU time from the
	// start of the load to the last commit, divided by the committed
	// transactions.
	NodeCPUPerTxUs float64 `json:"node_cpu_per_tx_us"`
	NodeCPUSeconds float64 `json:"node_cpu_seconds"`
	// BenchCPUSeconds is this load generator's own CPU time over the same
	// LoadSeconds: it competes with the nodes for the same cores.
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"`
	LoadSeconds     float64 `json:"load_seconds"`
	// DiskBytesPerNode is what one node's home holds on disk (blocks
	// allocated) after the run; DiskMBPerMillionTx scales it by the
	// committed transactions (genesis and fixed costs included, so short
	// runs overstate it).
	DiskBytesPerNode   int64   `json:"disk_bytes_per_node"`
	DiskMBPerMillionTx float64 `json:"disk_mb_per_million_tx"`
	// DiskBytesPerTx is what one node's home grew by from the load's start
	// to the end of the run, per committed transaction: genesis and fixed
	// costs left out.
	DiskBytesPerTx float64 `json:"disk_bytes_per_tx"`
	// SyntheticAccounts is the generated accounts of the genesis (the
	// state's size); ReadySeconds how long the network took from its
	// process's start to height 2 (genesis applied and committed).
	SyntheticAccounts int64   `json:"synthetic_accounts,omitempty"`
	ReadySeconds      float64 `json:"ready_seconds"`
	// TxIndex is the tx index the nodes kept: kv (kvstore's), lean or
	// none (jinlian's validators, ADR 0028).
	TxIndex string `json:"tx_index"`
	// API: jinlian's validators served the API and kept the movement
	// index (--api).
	API bool `json:"api,omitempty"`
	// LedgerEnv are the ledger settings jinlian's nodes took from the
	// environment (JINLIAN_LEDGER_*=value, sorted), as ADR 0030's and
	// 0031's measurements set them: the bench's own nodes read it.
	LedgerEnv []string `json:"ledger_env,omitempty"`
	// WarmupSeconds is the warm-up load before the measurement (--warmup):
	// none of the figures count it.
	WarmupSeconds float64 `json:"warmup_seconds,omitempty"`
	// Certs: the load's envelopes carried certificates (--certs), or named
	// them by hash (CertRefs, --cert-refs).
	Certs    bool `json:"certs,omitempty"`
	CertRefs bool `json:"cert_refs,omitempty"`
	// History is what the run committed before its load (--history).
	History *History `json:"history,omitempty"`
	// NodeRSSBytes is the node process's resident memory after the load
	// (all validators of the run: they share the process);
	// NodeMaxRSSBytes its peak over the run, genesis included.
	NodeRSSBytes    int64 `json:"node_rss_bytes"`
	NodeMaxRSSBytes int64 `json:"node_max_rss_bytes"`
	// NodeAnonRSSBytes is the anonymous part of NodeRSSBytes: the rest
	// is pages of mapped files (Badger's tables), which the kernel drops
	// when memory is short.
	NodeAnonRSSBytes int64 `json:"node_anon_rss_bytes"`
	// NodeAnonHugeBytes is the part of NodeAnonRSSBytes in transparent
	// huge pages (AnonHugePages): Go's heap gets them only where the
	// kernel's THP mode is "always" (HugePages).
	NodeAnonHugeBytes int64 `json:"node_anon_huge_bytes"`
	// HugePages is the kernel's transparent huge pages mode during the run
	// (always, madvise or never; empty where unknown), a condition of
	// every figure of a large state.
	HugePages string         `json:"transparent_huge_pages,omitempty"`
	Errors    map[string]int `json:"errors,omitempty"`
	Ratio     float64        `json:"ratio,omitempty"` // TPS over the first app's TPS
	// SM2VerifyUs is one SM2 signature verification on this machine,
	// measured by the bench before the runs; Verifies how many each
	// transfer costs the network (one per validator, or one with the
	// shared cache of jinlian-shared).
	SM2VerifyUs float64 `json:"sm2_verify_us,omitempty"`
	Verifies    int     `json:"verifies_per_tx,omitempty"`
	// OverheadBudget is, against a kvstore baseline run first, what jinlian
	// spends per transfer beyond kvstore's node CPU and its SM2
	// verifications, as a share of kvstore's per-transfer cost (issue 16's
	// budget: ≤ 0.25).
	OverheadBudget     float64 `json:"overhead_budget,omitempty"`
	BaselineCPUPerTxUs float64 `json:"baseline_cpu_per_tx_us,omitempty"`
	Round              int     `json:"round,omitempty"`
	// CPUParts (with --cpuprofile) split NodeCPUPerTxUs by the node
	// process's CPU profile of the load: the SM2 verification, decoding,
	// each ABCI method, CometBFT's pieces (cpuparts.go).
	CPUParts []CPUPart `json:"cpu_parts,omitempty"`
	// Runs are the rounds a median row summarises.
	Runs []*Result `json:"runs,omitempty"`
}

// Run measures every app of o.Apps, o.Repeat rounds interleaved, and
// returns every run and, with more than one round, each app's medians
// (ratio: of the medians). self is a jinlian binary built with -tags dev:
// each run's network is its `bench serve` child process. Data lives under
// home (empty or absent), or in a temporary directory removed afterwards
// unless o.Keep. Progress goes to log.
func Run(ctx context.Context, log io.Writer, self, home string, o *Options) (all, summary []*Result, err error) {
	if o.Rate <= 0 || o.Count <= 0 || o.Duration <= 0 || o.Batch <= 0 || o.Workers <= 0 || o.Accounts <= 0 || o.Repeat <= 0 {
		return nil, nil, errors.New("--rate, --count, --duration, --batch, --workers, --accounts and --repeat must be positive")
	}
	if o.Warmup < 0 {
		return nil, nil, errors.New("--warmup must not be negative")
	}
	if o.CertRefs && (!o.Certs || o.Warmup <= 0) {
		return nil, nil, errors.New("--cert-refs needs --certs and a --warmup: the warm-up's envelopes carry the certificates whole, which records them for the measured load to name")
	}
	if o.Validators < 1 || o.Validators > len(localnet.Orgs) {
		return nil, nil, fmt.Errorf("--validators %d: want 1..%d", o.Validators, len(localnet.Orgs))
	}
	for _, a := range o.Apps {
		if !benchApps[a] {
			return nil, nil, fmt.Errorf("--app %q: want kvstore, jinlian or jinlian-shared", a)
		}
	}
	if o.TxIndex != "" && o.TxIndex != "kv" && o.TxIndex != "null" {
		return nil, nil, fmt.Errorf("--tx-index %q: want kv or null", o.TxIndex)
	}
	if len(o.Workloads) == 0 {
		o.Workloads = []string{WorkloadTransfer}
	}
	for _, w := range o.Workloads {
		if !benchWorkloads[w] {
			return nil, nil, fmt.Errorf("--workload %q: want transfer, custody-approve, receivable-transfer or pvp-settle", w)
		}
		if o.Certs && w != WorkloadTransfer {
			return nil, nil, fmt.Errorf("--certs with --workload %s: certificates are offered for the transfer workload only", w)
		}
		if o.Warmup > 0 && w != WorkloadTransfer {
			return nil, nil, fmt.Errorf("--warmup with --workload %s: a warm-up is offered for the transfer workload and kvstore only (a contract's transactions each need their own setup)", w)
		}
	}
	// The runs of one round: each jinlian app with each workload.
	type runSpec struct{ app, workload string }
	var specs []runSpec
	for _, a := range o.Apps {
		if a == "kvstore" {
			specs = append(specs, runSpec{a, ""})
			continue
		}
		for _, w := range o.Workloads {
			specs = append(specs, runSpec{a, w})
		}
	}
	if home == "" {
		d, err := os.MkdirTemp("", "jinlian-bench-")
		if err != nil {
			return nil, nil, err
		}
		home = d
		if !o.Keep {
			defer os.RemoveAll(d)
		}
	} else if entries, err := os.ReadDir(home); err == nil && len(entries) > 0 {
		return nil, nil, fmt.Errorf("--home %s is not empty", home)
	}
	verifyUs, err := measureSM2Verify(2000)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(log, "bench: one SM2 verification takes %.0f µs here; the kernel's transparent huge pages: %s\n", verifyUs, cmp.Or(transparentHugePages(), "unknown"))
	runs := map[string][]*Result{}
	for round := 1; round <= o.Repeat; round++ {
		var first *Result
		for _, spec := range specs {
			appName, name := spec.app, spec.app
			if spec.workload != "" && spec.workload != WorkloadTransfer {
				name += "-" + spec.workload
			}
			dir := filepath.Join(home, fmt.Sprintf("%s-%d-%d", name, o.Validators, round))
			prof := o.CPUProfile
			if prof != "" && (len(specs) > 1 || o.Repeat > 1) {
				prof += fmt.Sprintf(".%s.%d", name, round)
			}
			r, err := runOne(ctx, log, self, dir, appName, spec.workload, o, prof)
			if err != nil {
				return nil, nil, fmt.Errorf("bench %s: %w", name, err)
			}
			if o.Repeat > 1 {
				r.Round = round
			}
			if first == nil {
				first = r
			} else if first.TPS > 0 {
				r.Ratio = r.TPS / first.TPS
			}
			r.setBudget(first, verifyUs)
			runs[name] = append(runs[name], r)
			all = append(all, r)
		}
	}
	if o.Repeat == 1 {
		return all, nil, nil
	}
	for _, spec := range specs {
		name := spec.app
		if spec.workload != "" && spec.workload != WorkloadTransfer {
			name += "-" + spec.workload
		}
		m := medianResult(runs[name])
		if len(summary) > 0 && summary[0].TPS > 0 {
			m.Ratio = m.TPS / summary[0].TPS
		}
		if len(summary) > 0 {
			m.setBudget(summary[0], verifyUs)
		}
		summary = append(summary, m)
	}
	return all, summary, nil
}

// setBudget computes r's overhead budget against baseline (a kvstore run
// of the same load), given one SM2 verification's cost.
func (r *Result) setBudget(baseline *Result, verifyUs float64) {
	if r == baseline || baseline.App != "kvstore" || !strings.HasPrefix(r.App, "jinlian") || (r.Workload != "" && r.Workload != WorkloadTransfer) || baseline.NodeCPUPerTxUs <= 0 || r.NodeCPUPerTxUs <= 0 {
		return
	}
	r.SM2VerifyUs, r.Verifies, r.BaselineCPUPerTxUs = verifyUs, r.Validators, baseline.NodeCPUPerTxUs
	if r.App == "jinlian-shared" {
		r.Verifies = 1
	}
	r.OverheadBudget = (r.NodeCPUPerTxUs - baseline.NodeCPUPerTxUs - float64(r.Verifies)*verifyUs) / baseline.NodeCPUPerTxUs
}

// stalledMs is the longest wait for a block holding load that PrintTable
// lets pass without calling the run stalled: many times a block interval,
// even with 10 validators on one machine.
const stalledMs = 3000

// PrintTable prints results, one row each: committed is the rate from the
// load's start to the last commit, window the rate between the first and
// the last block holding load, stall the longest time without such a block.
func PrintTable(w io.Writer, results []*Result) {
	fmt.Fprintf(w, "%-30s %4s %7s %8s %9s %7s %6s %5s %8s %8s %7s %7s %7s %8s %9s %6s %7s\n",
		"app", "vals", "target", "offered", "committed", "window", "stall", "late", "p50", "p99", "blocks", "maxblk", "pending", "rejected", "cpu/tx", "ratio", "budget")
	for _, r := range results {
		name := r.App
		if r.Workload != "" && r.Workload != WorkloadTransfer {
			name += " " + r.Workload
		}
		if r.Round > 0 {
			name = fmt.Sprintf("%s #%d", r.App, r.Round)
		}
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		budget := "-"
		if r.SM2VerifyUs > 0 {
			budget = fmt.Sprintf("%.0f%%", 100*r.OverheadBudget)
		}
		fmt.Fprintf(w, "%-30s %4d %7d %8.0f %9.0f %7.0f %5.1fs %5d %6.0fms %6.0fms %7d %7d %7d %8d %7.0fus %6s %7s\n",
			name, r.Validators, r.TargetRate, r.OfferedRate, r.TPS, r.WindowTPS, r.MaxStallMs/1000, r.LateHeights, r.P50ms, r.P99ms, r.Blocks, r.MaxBlockTxs,
			r.Pending, r.Rejected, r.NodeCPUPerTxUs, ratio, budget)
		if r.MaxStallMs >= stalledMs {
			fmt.Fprintf(w, "    STALLED: no block with load committed for %.1f s\n", r.MaxStallMs/1000)
		}
		if r.SM2VerifyUs > 0 {
			fmt.Fprintf(w, "    budget: (%.0f µs − kvstore's %.0f µs − %d × %.0f µs SM2 verify) / %.0f µs = %.0f%% of kvstore's per-transfer cost (target ≤ 25%%)\n",
				r.NodeCPUPerTxUs, r.BaselineCPUPerTxUs, r.Verifies, r.SM2VerifyUs, r.BaselineCPUPerTxUs, 100*r.OverheadBudget)
		}
		if r.NodeRSSBytes > 0 {
			state := ""
			if r.SyntheticAccounts > 0 {
				state = fmt.Sprintf("%d synthetic accounts, ", r.SyntheticAccounts)
			}
			if h := r.History; h != nil {
				state += fmt.Sprintf("%d transfers of history (committed in %.0f s", h.Transfers, h.Seconds)
				if h.Lost > 0 {
					state += fmt.Sprintf("; %d accepted and never committed", h.Lost)
				}
				state += "), "
			}
			if r.WarmupSeconds > 0 {
				state += fmt.Sprintf("measured after a warm-up of %.0f s at the offered rate; ", r.WarmupSeconds)
			}
			if r.TxIndex != "" {
				state += "tx index " + r.TxIndex + "; "
			}
			if len(r.LedgerEnv) > 0 {
				state += "ledger settings from the environment: " + strings.Join(r.LedgerEnv, ", ") + "; "
			}
			if r.API {
				state += "validators serve the API, with the movement index; "
			}
			switch {
			case r.CertRefs:
				state += "senders sign with certificates, named by hash; "
			case r.Certs:
				state += "senders sign with certificates; "
			}
			anon := fmt.Sprintf("%.2f GB anonymous", float64(r.NodeAnonRSSBytes)/1e9)
			if r.HugePages != "" {
				anon += fmt.Sprintf(", %.2f GB of it in huge pages, THP %s", float64(r.NodeAnonHugeBytes)/1e9, r.HugePages)
			}
			fmt.Fprintf(w, "    %sready in %.1f s; node process RSS %.2f GB after the load (%s; peak %.2f GB); disk %.0f B per committed transfer per node\n",
				state, r.ReadySeconds, float64(r.NodeRSSBytes)/1e9, anon, float64(r.NodeMaxRSSBytes)/1e9, r.DiskBytesPerTx)
		}
		for _, msg := range sortedKeys(r.Errors) {
			fmt.Fprintf(w, "    %d× %s\n", r.Errors[msg], msg)
		}
		if r.Failed > 0 {
			fmt.Fprintf(w, "    %d included transactions failed\n", r.Failed)
		}
	}
	printCPUParts(w, results)
}

// txLoad is the pre-built load: transactions, their hashes and their
// base64 forms for the JSON-RPC bodies.
type txLoad struct {
	txs      [][]byte
	b64      []string
	index    map[[32]byte]int
	accounts []string // jinlian: addresses to fund (lines of --accounts-file)
	// rootCA (--certs) is the root certificate of the bench organisation,
	// which issued the senders' certificates.
	rootCA []byte
	// setup are the phases a contract workload commits before the load,
	// in order, each phase's transactions all committed before the next.
	setup [][][]byte
	// sign (the transfer load) signs the transactions again at a time:
	// a genesis of millions of accounts takes longer to start than
	// app.Params.TxTimeWindowSeconds, which then refuses transactions
	// signed before it.
	sign func(at time.Time) error
	// transfer (the transfer load) builds the i-th transfer signed at a
	// time: the load is transfers 0..Count-1, a history those after.
	transfer func(i int, at time.Time) ([]byte, error)
}

// staleLoad is how old a pre-built load may be when the network is ready;
// an older one is signed again (the default window is 600 s).
const staleLoad = 4 * time.Minute

func runOne(ctx context.Context, log io.Writer, self, dir, appName, workload string, o *Options, cpuProfile string) (*Result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t0 := time.Now()
	warmCount := int(float64(o.Rate) * o.Warmup.Seconds())
	load, err := buildLoad(appName, workload, o, warmCount)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "bench %s: built %d transactions of %d bytes in %s\n", appName, len(load.txs), len(load.txs[0]), time.Since(t0).Round(time.Millisecond))

	basePort, err := consensus.FreeBasePort(o.Validators)
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "serve", "--app", appName, "--home", filepath.Join(dir, "net"),
		"--validators", strconv.Itoa(o.Validators), "--base-port", strconv.Itoa(basePort),
		"--timeout-commit", o.TimeoutCommit.String(), "--log.level", o.LogLevel, "--mempool-size", strconv.Itoa(o.MempoolSize), "--tx-index", o.TxIndex}
	if load.accounts != nil {
		p := filepath.Join(dir, "accounts.txt")
		if err := os.WriteFile(p, []byte(strings.Join(load.accounts, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--accounts-file", p)
	}
	if load.rootCA != nil {
		p := filepath.Join(dir, "bench-ca.pem")
		if err := os.WriteFile(p, load.rootCA, 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--bench-ca", p)
	}
	if o.SyntheticAccounts > 0 && appName != "kvstore" {
		args = append(args, "--synthetic-accounts", strconv.FormatInt(o.SyntheticAccounts, 10))
	}
	if o.ReservesInterval != 0 && appName != "kvstore" {
		args = append(args, "--reserves-interval", strconv.FormatInt(o.ReservesInterval, 10))
	}
	if o.API && appName != "kvstore" {
		args = append(args, "--api")
	}
	// Each validator applies the synthetic accounts in its InitChain and
	// imports them at the first commit: allow for it (about 70 µs an
	// account each, measured; BenchmarkGenesisSynthetic in app; about
	// three times that here, for a machine shared with other work).
	genesisWork := time.Duration(o.SyntheticAccounts*int64(o.Validators)) * 200 * time.Microsecond
	var pprofAddr string
	if cpuProfile != "" || o.HeapProfile != "" {
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", basePort+2)
		args = append(args, "--pprof", pprofAddr)
	}
	var env []string
	if o.MaxProposalTxs > 0 && appName != "kvstore" {
		// The nodes read it from the environment like any setting of
		// jinlian.toml (docs/quickstart.md).
		env = append(env, "JINLIAN_NODE_MAX_PROPOSAL_TXS="+strconv.Itoa(o.MaxProposalTxs))
	}
	childStart := time.Now()
	child, err := startChild(self, args, env, filepath.Join(dir, "node.log"), 2*time.Minute+genesisWork)
	if err != nil {
		return nil, err
	}
	defer child.kill()

	rpcs := make([]string, len(child.ready.RPC))
	for i, a := range child.ready.RPC {
		rpcs[i] = "http://" + strings.TrimPrefix(a, "tcp://")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Workers + 2, MaxConnsPerHost: o.Workers + 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	// Ready: every node has committed the genesis's first block.
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second+genesisWork)
	for _, rpc := range rpcs {
		if err = waitHeight(waitCtx, hc, rpc, 2); err != nil {
			break
		}
	}
	cancel()
	if err != nil {
		return nil, fmt.Errorf("network did not start (see %s): %w", filepath.Join(dir, "node.log"), err)
	}
	readySeconds := time.Since(childStart).Seconds()
	var hist *History
	if o.History > 0 && appName != "kvstore" {
		t1 := time.Now()
		if hist, err = history(ctx, log, hc, rpcs, o, load, child.cmd.Process.Pid, filepath.Join(dir, "net")); err != nil {
			return nil, fmt.Errorf("history (see %s): %w", filepath.Join(dir, "node.log"), err)
		}
		fmt.Fprintf(log, "bench %s: committed %d history transfers in %s\n", appName, hist.Transfers, time.Since(t1).Round(time.Second))
	}
	if o.Settle > 0 {
		fmt.Fprintf(log, "bench %s: ready in %.1f s; settling for %s before the load\n", appName, time.Since(childStart).Seconds(), o.Settle)
		select {
		case <-time.After(o.Settle):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if load.sign != nil && time.Since(t0) > staleLoad {
		t1 := time.Now()
		if err := load.sign(t1); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "bench %s: signed the load again (%s), built %s before: older than the tx time window allows\n", appName, time.Since(t1).Round(time.Millisecond), t1.Sub(t0).Round(time.Second))
	}
	if warmCount > 0 {
		var warm *txLoad
		warm, load = load.split(warmCount)
		if err := warmUp(ctx, log, appName, o, warm, hc, rpcs); err != nil {
			return nil, err
		}
	}
	diskBefore, diskErr := diskuse.Of(filepath.Join(dir, "net"))
	if len(load.setup) > 0 {
		t1 := time.Now()
		if err := runSetup(ctx, hc, rpcs, o.Batch, load.setup); err != nil {
			return nil, fmt.Errorf("%s setup (see %s): %w", workload, filepath.Join(dir, "node.log"), err)
		}
		n := 0
		for _, p := range load.setup {
			n += len(p)
		}
		fmt.Fprintf(log, "bench %s %s: committed %d setup transactions in %d phases in %s\n", appName, workload, n, len(load.setup), time.Since(t1).Round(time.Millisecond))
	}
	startHeight, err := latestHeight(ctx, hc, rpcs[0])
	if err != nil {
		return nil, err
	}

	var profDone chan error
	profiled := false
	if cpuProfile != "" {
		profDone = make(chan error, 1)
		secs := int(o.Duration.Seconds()) + 1
		go func() { profDone <- fetchProfile(pprofAddr, fmt.Sprintf("profile?seconds=%d", secs), cpuProfile) }()
	}

	cpu0, cpuErr := processCPU(child.cmd.Process.Pid)
	self0, _ := processCPU(os.Getpid())
	r := &Result{App: appName, Workload: workload, Validators: o.Validators, TimeoutCommit: o.TimeoutCommit.String(),
		TxBytes: len(load.txs[0]), TargetRate: o.Rate, Errors: map[string]int{}, ReadySeconds: readySeconds, TxIndex: txIndexOf(appName, o.TxIndex, o.API), API: o.API && appName != "kvstore", WarmupSeconds: o.Warmup.Seconds(), LedgerEnv: ledgerEnvOf(appName, os.Environ()), Certs: o.Certs && appName != "kvstore", CertRefs: o.CertRefs && appName != "kvstore"}
	if appName != "kvstore" {
		r.SyntheticAccounts = o.SyntheticAccounts
		r.History = hist
	}
	run := &loadRun{o: o, load: load, hc: hc, rpcs: rpcs, sentAt: make([]time.Time, len(load.txs))}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	run.firstHeight = startHeight + 1
	go func() { watchDone <- run.watch(watchCtx, startHeight+1) }()

	loadStart := time.Now()
	sent, elapsed := run.offer(ctx)
	r.Sent = sent
	r.OfferedRate = float64(sent) / elapsed.Seconds()
	fmt.Fprintf(log, "bench %s: offered %d transactions in %s (%.0f tx/s), waiting for commits\n", appName, sent, elapsed.Round(time.Millisecond), r.OfferedRate)

	// Wait until every accepted transaction is seen or commits stop coming.
	drainStart, lastProgress, lastSeen := time.Now(), time.Now(), int64(-1)
	for time.Since(drainStart) < o.MaxDrain {
		seen := run.included.Load()
		if int(seen)+int(run.rejected.Load()) >= sent {
			break
		}
		if seen != lastSeen {
			lastSeen, lastProgress = seen, time.Now()
		} else if time.Since(lastProgress) > o.Drain {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopWatch()
	if err := <-watchDone; err != nil {
		return nil, err
	}
	cpu1, err := processCPU(child.cmd.Process.Pid)
	cpuErr = errors.Join(cpuErr, err)
	self1, _ := processCPU(os.Getpid())
	loadWall := time.Since(loadStart)
	if profDone != nil {
		if err := <-profDone; err != nil {
			fmt.Fprintf(log, "bench %s: cpu profile: %v\n", appName, err)
		} else {
			profiled = true
			fmt.Fprintf(log, "bench %s: cpu profile of the load written to %s\n", appName, cpuProfile)
		}
	}
	if o.HeapProfile != "" {
		p := o.HeapProfile + "." + appName
		if err := fetchProfile(pprofAddr, "heap?gc=1", p); err != nil {
			fmt.Fprintf(log, "bench %s: heap profile: %v\n", appName, err)
		} else {
			fmt.Fprintf(log, "bench %s: heap profile after the load written to %s\n", appName, p)
		}
	}
	r.NodeRSSBytes, r.NodeMaxRSSBytes, r.NodeAnonRSSBytes, _ = processRSS(child.cmd.Process.Pid)
	r.NodeAnonHugeBytes, _ = processAnonHuge(child.cmd.Process.Pid)
	r.HugePages = transparentHugePages()

	if o.CheckResults {
		if err := run.checkResults(ctx); err != nil {
			return nil, err
		}
	}
	if err := child.stop(); err != nil {
		fmt.Fprintf(log, "bench %s: stop nodes: %v\n", appName, err)
	}
	run.summarize(r)
	if n, err := diskuse.Of(filepath.Join(dir, "net")); err == nil && o.Validators > 0 {
		// Each node's home, data and config; the nodes hold the same chain.
		r.DiskBytesPerNode = n / int64(o.Validators)
		if r.Committed > 0 {
			r.DiskMBPerMillionTx = float64(r.DiskBytesPerNode) / float64(r.Committed) // bytes per tx = MB per million
			if diskErr == nil {
				r.DiskBytesPerTx = float64(n-diskBefore) / float64(o.Validators) / float64(r.Committed)
			}
		}
	}
	if cpuErr == nil {
		cpu := cpu1 - cpu0
		r.NodeCPUSeconds = cpu.Seconds()
		r.BenchCPUSeconds = (self1 - self0).Seconds()
		r.LoadSeconds = loadWall.Seconds()
		if r.Committed > 0 {
			r.NodeCPUPerTxUs = float64(cpu.Microseconds()) / float64(r.Committed)
		}
	}
	if profiled && r.NodeCPUPerTxUs > 0 {
		if err := r.setCPUParts(cpuProfile); err != nil {
			fmt.Fprintf(log, "bench %s: cpu profile: %v\n", appName, err)
		}
	}
	return r, nil
}

// buildLoad pre-builds extra + o.Count transactions (the extra first: a
// warm-up's), so that no signing competes with the nodes for CPU during
// the run.
func buildLoad(appName, workload string, o *Options, extra int) (*txLoad, error) {
	l := &txLoad{txs: make([][]byte, extra+o.Count)}
	switch {
	case appName != "kvstore" && workload != "" && workload != WorkloadTransfer:
		if err := buildContractLoad(l, workload, o); err != nil {
			return nil, err
		}
	case appName == "jinlian", appName == "jinlian-shared":
		signers, named := make([]wire.Signer, o.Accounts), make([]wire.Signer, o.Accounts)
		addrs := make([][]byte, o.Accounts)
		sender, rootCA, err := senders(o)
		if err != nil {
			return nil, err
		}
		l.rootCA = rootCA
		for i := range signers {
			k, err := gmcrypto.GenerateKey()
			if err != nil {
				return nil, err
			}
			if signers[i], err = sender(i, k); err != nil {
				return nil, err
			}
			named[i] = signers[i]
			if o.CertRefs {
				if named[i], err = signers[i].NamingCert(); err != nil {
					return nil, err
				}
			}
			addrs[i] = k.Public().Address().Bytes()
			l.accounts = append(l.accounts, k.Public().Address().String())
		}
		var seed []byte
		if o.SyntheticAccounts > 0 {
			seed, _ = hex.DecodeString(localnet.SyntheticSeed)
		}
		l.transfer = func(i int, now time.Time) ([]byte, error) {
			from := i % len(signers)
			to := addrs[(from+1)%len(signers)]
			if seed != nil {
				// Uniform over the synthetic accounts, the same at every run.
				h := gmcrypto.SM3(binary.BigEndian.AppendUint64(nil, uint64(i)))
				to = app.SyntheticAddress(seed, int64(binary.BigEndian.Uint64(h[:8])%uint64(o.SyntheticAccounts))).Bytes()
			}
			msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to, Amount: 1}}}
			signer := named[from] // the warm-up's (the first extra) carry certificates whole
			if i < extra {
				signer = signers[from]
			}
			raw, _, err := wire.BuildTx(signer, ChainID, "payments", now, msg)
			return raw, err
		}
		l.sign = func(now time.Time) error {
			if err := parallel(len(l.txs), func(i int) (err error) {
				l.txs[i], err = l.transfer(i, now)
				return err
			}); err != nil {
				return err
			}
			l.encode()
			return nil
		}
		if err := l.sign(time.Now()); err != nil {
			return nil, err
		}
		return l, nil
	case appName == "kvstore":
		size := o.TxSize
		if size == 0 {
			// A transfer's size, with a certificate under --certs, naming
			// it under --cert-refs.
			k, err := gmcrypto.GenerateKey()
			if err != nil {
				return nil, err
			}
			sender, _, err := senders(o)
			if err != nil {
				return nil, err
			}
			signer, err := sender(0, k)
			if err == nil && o.CertRefs {
				signer, err = signer.NamingCert()
			}
			if err != nil {
				return nil, err
			}
			msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: k.Public().Address().Bytes(), Amount: 1}}}
			raw, _, err := wire.BuildTx(signer, ChainID, "payments", time.Now(), msg)
			if err != nil {
				return nil, err
			}
			size = len(raw)
		}
		for i := range l.txs {
			key := fmt.Sprintf("bench%09d=", i)
			if size < len(key)+1 {
				return nil, fmt.Errorf("--tx-size %d is too small", size)
			}
			l.txs[i] = append([]byte(key), bytes.Repeat([]byte{'v'}, size-len(key))...)
		}
	}
	l.encode()
	return l, nil
}

// senders returns what makes the i-th sender of a key: a member of the
// bench organisation signing with its bare key, or, under o.Certs, with a
// client certificate (valid for ten years) that a root CA made here
// issued, carried by every envelope; rootCA is that CA's certificate,
// for the genesis.
func senders(o *Options) (sender func(i int, k *gmcrypto.PrivateKey) (wire.Signer, error), rootCA []byte, err error) {
	if !o.Certs {
		return func(_ int, k *gmcrypto.PrivateKey) (wire.Signer, error) {
			return wire.Signer{Key: k, MSPID: localnet.BenchOrg}, nil
		}, nil, nil
	}
	now := time.Now()
	a, err := ca.New(localnet.BenchOrg, 3650, now)
	if err != nil {
		return nil, nil, err
	}
	return func(i int, k *gmcrypto.PrivateKey) (wire.Signer, error) {
		c, err := a.Issue(fmt.Sprintf("sender-%d", i), gmcrypto.RoleClient, k.Public(), 3650, now)
		if err != nil {
			return wire.Signer{}, err
		}
		return wire.Signer{Key: k, MSPID: localnet.BenchOrg, CertPEM: c.PEM()}, nil
	}, a.CertPEM, nil
}

// split returns l's first n transactions as a load of their own (a
// warm-up's: no accounts, setup or signing) and l with the rest. The
// request bodies and the index are l's, cut at n: nothing is encoded or
// hashed again.
func (l *txLoad) split(n int) (head, rest *txLoad) {
	head = &txLoad{txs: l.txs[:n], b64: l.b64[:n], index: make(map[[32]byte]int, n)}
	r := *l
	r.txs, r.b64, r.index = l.txs[n:], l.b64[n:], make(map[[32]byte]int, len(l.txs)-n)
	for h, i := range l.index {
		if i < n {
			head.index[h] = i
		} else {
			r.index[h] = i - n
		}
	}
	return head, &r
}

// warmUp offers warm at o.Rate for o.Warmup and waits until every node's
// mempool is empty (at most o.MaxDrain more): the measured load then
// starts on nodes that have already carried load.
func warmUp(ctx context.Context, log io.Writer, appName string, o *Options, warm *txLoad, hc *http.Client, rpcs []string) error {
	wo := *o
	wo.Duration, wo.Count = o.Warmup, len(warm.txs)
	run := &loadRun{o: &wo, load: warm, hc: hc, rpcs: rpcs, sentAt: make([]time.Time, len(warm.txs))}
	t0 := time.Now()
	sent, elapsed := run.offer(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	left, err := waitMempools(ctx, hc, rpcs, o.MaxDrain)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Fprintf(log, "bench %s: warmed up: offered %d transactions in %s (%d refused), %d still in the mempools after %s\n",
		appName, sent, elapsed.Round(time.Millisecond), run.rejected.Load(), left, time.Since(t0).Round(time.Millisecond))
	return nil
}

// waitMempools waits until no node's mempool holds a transaction, or
// for at most limit; it returns the transactions left in them.
func waitMempools(ctx context.Context, hc *http.Client, rpcs []string, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	for {
		left := 0
		for _, rpc := range rpcs {
			var res struct {
				Result struct {
					N string `json:"n_txs"`
				} `json:"result"`
			}
			if err := getJSON(ctx, hc, rpc+"/num_unconfirmed_txs", &res); err != nil {
				return 0, err
			}
			n, err := strconv.Atoi(res.Result.N)
			if err != nil {
				return 0, fmt.Errorf("num_unconfirmed_txs of %s: n_txs %q", rpc, res.Result.N)
			}
			left += n
		}
		if left == 0 || time.Now().After(deadline) {
			return left, nil
		}
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// encode sets the base64 forms and the index of l's transactions.
func (l *txLoad) encode() {
	l.b64 = make([]string, len(l.txs))
	l.index = make(map[[32]byte]int, len(l.txs))
	for i, tx := range l.txs {
		l.b64[i] = base64.StdEncoding.EncodeToString(tx)
		l.index[sha256.Sum256(tx)] = i
	}
}

// parallel runs f(0..n-1) on every core and returns the first error.
func parallel(n int, f func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || errs[w] != nil {
					return
				}
				errs[w] = f(i)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loadRun is the state of one run: the offering side writes sentAt and the
// counters, the watcher records blocks.
type loadRun struct {
	o    *Options
	load *txLoad
	hc   *http.Client
	rpcs []string

	sentAt   []time.Time // written before the tx is handed to a sender
	start    time.Time   // when offer began: the first transaction's due time
	loadEnd  time.Time   // when offer stopped offering
	rejected atomic.Int64
	included atomic.Int64

	mu      sync.Mutex
	errs    map[string]int
	blocks  []blockSample
	inBlock [][]int // per block: load tx index by position, -1 for others
	// rounds: the round in which each height from firstHeight on was
	// decided, as the next block's last commit says.
	firstHeight int64
	rounds      []int
}

type sendJob struct {
	node   int
	lo, hi int
}

// offer sends the load at the target rate until o.Count transactions are
// sent or o.Duration has passed. A transaction's send time is when it was
// due, so a sender that falls behind shows up as latency; when the nodes
// answer so slowly that the senders' queue fills, the offered rate drops
// and what was not sent by the end of the duration is not offered at all.
func (r *loadRun) offer(ctx context.Context) (int, time.Duration) {
	jobs := make(chan sendJob, 256)
	var wg sync.WaitGroup
	for range r.rpcs {
		for range r.o.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					r.send(ctx, j)
				}
			}()
		}
	}
	const tick = 2 * time.Millisecond
	start := time.Now()
	r.start = start
	deadline := time.NewTimer(r.o.Duration)
	defer deadline.Stop()
	next, node := 0, 0
	n := len(r.load.txs)
offering:
	for next < n && ctx.Err() == nil {
		el := min(time.Since(start), r.o.Duration)
		// Whole batches only (but the last): fewer, fuller requests, at
		// the cost of up to batch/rate of waiting, which counts as latency.
		due := int(float64(r.o.Rate) * el.Seconds())
		if el < r.o.Duration {
			due -= due % r.o.Batch
		}
		due = min(due, n)
		for next < due {
			hi := min(next+r.o.Batch, due)
			at := start.Add(time.Duration(float64(next) / float64(r.o.Rate) * float64(time.Second)))
			for i := next; i < hi; i++ {
				r.sentAt[i] = at
			}
			j := sendJob{node: node % len(r.rpcs), lo: next, hi: hi}
			select {
			case jobs <- j:
			default:
				// The senders are behind (the nodes answer slowly): wait,
				// but not past the duration.
				select {
				case jobs <- j:
				case <-deadline.C:
					break offering
				case <-ctx.Done():
					break offering
				}
			}
			node++
			next = hi
		}
		if el >= r.o.Duration {
			break
		}
		time.Sleep(tick)
	}
	elapsed := time.Since(start)
	r.loadEnd = start.Add(elapsed)
	close(jobs)
	wg.Wait()
	return next, elapsed
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

func (r *loadRun) send(ctx context.Context, j sendJob) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := j.lo; i < j.hi; i++ {
		if i > j.lo {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"jsonrpc":"2.0","id":%d,"method":"broadcast_tx_async","params":{"tx":"%s"}}`, i, r.load.b64[i])
	}
	body.WriteByte(']')
	fail := func(msg string, n int) {
		r.rejected.Add(int64(n))
		r.mu.Lock()
		if r.errs == nil {
			r.errs = map[string]int{}
		}
		r.errs[msg] += n
		r.mu.Unlock()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.rpcs[j.node], &body)
	if err != nil {
		fail(err.Error(), j.hi-j.lo)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		fail("http: "+shortErr(err), j.hi-j.lo)
		return
	}
	defer resp.Body.Close()
	// A batch of one is answered with a bare object, not an array.
	var out []rpcResponse
	raw, err := io.ReadAll(resp.Body)
	if err == nil {
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '{' {
			raw = append(append([]byte{'['}, raw...), ']')
		}
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		fail(fmt.Sprintf("http %d: undecodable response", resp.StatusCode), j.hi-j.lo)
		return
	}
	for _, o := range out {
		if o.Error != nil {
			fail(shortMsg(o.Error.Message+": "+o.Error.Data), 1)
		}
	}
}

func shortErr(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return shortMsg(err.Error())
}

// shortMsg trims an error to a groupable prefix (mempool errors carry sizes).
func shortMsg(s string) string {
	if i := strings.IndexAny(s, "(0123456789"); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

type rpcBlock struct {
	Result struct {
		Block struct {
			Data struct {
				Txs [][]byte `json:"txs"` // base64 in JSON
			} `json:"data"`
			// LastCommit.Round is the round in which the previous height
			// was decided: above 0 when its first proposals failed.
			LastCommit struct {
				Round int `json:"round"`
			} `json:"last_commit"`
		} `json:"block"`
	} `json:"result"`
	Error *struct {
		Data string `json:"data"`
	} `json:"error"`
}

// watch follows node0's blocks from height h until ctx ends, recording when
// each block was first found committed and which load transactions it holds.
func (r *loadRun) watch(ctx context.Context, h int64) error {
	for ctx.Err() == nil {
		asked := time.Now()
		var b rpcBlock
		err := getJSON(ctx, r.hc, fmt.Sprintf("%s/block?height=%d", r.rpcs[0], h), &b)
		if err != nil || b.Error != nil {
			// Not committed yet (or a transient error): ask again shortly.
			select {
			case <-ctx.Done():
			case <-time.After(r.o.Poll):
			}
			continue
		}
		pos := make([]int, len(b.Result.Block.Data.Txs))
		n := 0
		for i, tx := range b.Result.Block.Data.Txs {
			pos[i] = -1
			if idx, ok := r.load.index[sha256.Sum256(tx)]; ok {
				pos[i] = idx
				n++
			}
		}
		r.mu.Lock()
		r.blocks = append(r.blocks, blockSample{Height: h, Seen: asked, LoadTxs: n})
		r.inBlock = append(r.inBlock, pos)
		if h > r.firstHeight {
			r.rounds = append(r.rounds, b.Result.Block.LastCommit.Round)
		}
		r.mu.Unlock()
		r.included.Add(int64(n))
		h++
	}
	return nil
}

// checkResults reads the result codes of the blocks with load transactions
// and drops the failed ones from the counts.
func (r *loadRun) checkResults(ctx context.Context) error {
	for bi, b := range r.blocks {
		if b.LoadTxs == 0 {
			continue
		}
		res, err := blockResults(ctx, r.hc, r.rpcs[0], b.Height)
		if err != nil {
			return err
		}
		for i, tr := range res {
			if i < len(r.inBlock[bi]) && r.inBlock[bi][i] >= 0 && tr.Code != 0 {
				r.inBlock[bi][i] = -2 // failed
				r.blocks[bi].LoadTxs--
				if r.errs == nil {
					r.errs = map[string]int{}
				}
				r.errs["failed: "+shortMsg(tr.Log)]++
			}
		}
	}
	return nil
}

// txResult is a transaction's result code and log in block_results.
type txResult struct {
	Code uint32 `json:"code"`
	Log  string `json:"log"`
}

// blockResults returns the transaction results of block height. A node
// stores a block before its results: while it answers that it has none
// yet, it is asked again (for up to 5 s).
func blockResults(ctx context.Context, hc *http.Client, rpc string, height int64) ([]txResult, error) {
	for try := 0; ; try++ {
		var res struct {
			Result *struct {
				TxsResults []txResult `json:"txs_results"`
			} `json:"result"`
			Error *struct {
				Data string `json:"data"`
			} `json:"error"`
		}
		err := getJSON(ctx, hc, fmt.Sprintf("%s/block_results?height=%d", rpc, height), &res)
		if err == nil && res.Result != nil {
			return res.Result.TxsResults, nil
		}
		if err == nil && res.Error != nil {
			err = errors.New(res.Error.Data)
		}
		if try == 100 || ctx.Err() != nil {
			return nil, fmt.Errorf("block_results %d: %w", height, errors.Join(err, ctx.Err()))
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *loadRun) summarize(out *Result) {
	var lat []time.Duration
	for bi, b := range r.blocks {
		for _, idx := range r.inBlock[bi] {
			switch {
			case idx >= 0:
				lat = append(lat, b.Seen.Sub(r.sentAt[idx]))
				out.Included++
			case idx == -2:
				out.Included++
				out.Failed++
			}
		}
		if b.LoadTxs > 0 {
			out.Blocks++
			out.MaxBlockTxs = max(out.MaxBlockTxs, b.LoadTxs)
		}
	}
	out.Committed = len(lat)
	out.Rejected = int(r.rejected.Load())
	out.Pending = out.Sent - out.Rejected - out.Included
	_, window, tps := throughput(r.blocks)
	out.WindowTPS, out.WindowSeconds = tps, window.Seconds()
	_, span, rate := sustained(r.blocks, r.start, r.loadEnd)
	out.TPS, out.FromStartSeconds = rate, span.Seconds()
	stall := longestStall(r.blocks, r.start, r.loadEnd)
	out.MaxStallMs = float64(stall.Microseconds()) / 1000
	for _, round := range r.rounds {
		if round > 0 {
			out.LateHeights++
		}
		out.MaxRound = max(out.MaxRound, round)
	}
	p50, p99, maxLat := latencyStats(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out.P50ms, out.P99ms, out.MaxMs = ms(p50), ms(p99), ms(maxLat)
	for k, v := range r.errs {
		out.Errors[k] = v
	}
}

func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: status %d: %w", url, resp.StatusCode, err)
	}
	return nil
}

func latestHeight(ctx context.Context, hc *http.Client, rpc string) (int64, error) {
	var st struct {
		Result struct {
			SyncInfo struct {
				Height int64 `json:"latest_block_height,string"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := getJSON(ctx, hc, rpc+"/status", &st); err != nil {
		return 0, err
	}
	return st.Result.SyncInfo.Height, nil
}

func waitHeight(ctx context.Context, hc *http.Client, rpc string, h int64) error {
	for {
		got, err := latestHeight(ctx, hc, rpc)
		if err == nil && got >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for height %d: %w (last: %d, %v)", h, ctx.Err(), got, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func fetchProfile(addr, what, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", addr, what))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sortedKeys is for stable error listings.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// measureSM2Verify is the median cost of one SM2 signature verification
// (gmcrypto, the node's own path), in µs, over n verifications in 10
// batches.
func measureSM2Verify(n int) (float64, error) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		return 0, err
	}
	msg := []byte("jinlian bench: one SM2 verification")
	sig, err := k.Sign(msg)
	if err != nil {
		return 0, err
	}
	pub := k.Public()
	var per []float64
	for range 10 {
		start := time.Now()
		for range n / 10 {
			if !pub.Verify(msg, sig) {
				return 0, errors.New("SM2 self-check failed")
			}
		}
		per = append(per, float64(time.Since(start).Microseconds())/float64(n/10))
	}
	sort.Float64s(per)
	return per[len(per)/2], nil
}
