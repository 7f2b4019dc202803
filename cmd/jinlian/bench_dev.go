//go:build dev

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/test/bench"
)

// The benchmark harness (test/bench, which links CometBFT's kvstore) is in
// development builds only: go run -tags dev ./cmd/jinlian bench.

func newBenchCmd(g *globals) *cobra.Command {
	o := &bench.Options{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure committed tx/s and commit latency of a localnet under a fixed offered load",
		Long: `Starts a fresh network of --validators nodes on 127.0.0.1 in a child process,
offers --count pre-signed transactions at --rate tx/s (for at most --duration)
round-robin to every node's RPC with broadcast_tx_async, and follows the
committed blocks to report committed tx/s and commit latency (p50, p99).

--app lists the applications to measure one after the other under the same
load: "kvstore" is CometBFT's abci/example/kvstore (in memory) fed unique
key=value transactions of the size of a jinlian transfer, "jinlian" is this
ledger fed SM2-signed CNY transfers between --accounts funded accounts, each
validator verifying every signature itself as it would on a machine of its
own, and "jinlian-shared" the same with one verified-signature cache for all
validators, as the localnet's share it (it flatters several validators on
one machine).

--workload lists the transaction types the jinlian apps are measured with,
one run each: "transfer" (the load above), "custody-approve" (the approval
that executes a two-of-two custody payment), "receivable-transfer" (a
confirmed receivable passed down the supply chain) and "pvp-settle" (the
funding of leg B that settles a PvP trade). A contract workload first
commits the state it needs (custody accounts and proposals, receivables
registered and confirmed, trades with leg A funded) in setup phases outside
the measurement, from --accounts identities split over two organisations.

The committed column counts every committed load transaction from the
load's start to the last block holding load, so a run that stalls shows a
low rate; window is the rate between the first and the last block holding
load (the steady state once blocks flow), and stall the longest time no
block holding load was committed (a row with 3 s or more is marked
STALLED), and late the heights decided in a round above 0. The ratio column is each run's committed tx/s over the first
run's; against a kvstore baseline the budget column is what jinlian spends
per transfer beyond kvstore's node CPU and its SM2 verifications (one per
validator; measured before the runs), as a share of kvstore's cost.
With --cpuprofile, a table after the results splits each run's node CPU
per transfer by its CPU profile of the load into parts (the SM2
verification and the envelope's decoding wherever they run, each ABCI
method of the app, CometBFT's tx index, event bus, mempool, RPC, p2p,
stores and consensus, the Go collector), with each jinlian run's
difference from kvstore's: where the budget goes.

--synthetic-accounts N grows the state: the genesis funds N generated
accounts (app_state synthetic_accounts, applied by every validator in its
InitChain, not sent through consensus) and the load's transfers go to them,
drawn uniformly, so that every transfer reads and writes a random place of
a state of N accounts. Below each jinlian row: how long the network took to
be ready (genesis applied and committed), the node process's resident
memory after the load and at its peak, the anonymous part of the first and
how much of that is in transparent huge pages (with the kernel's THP mode,
which the bench also prints at its start: Go's heap gets huge pages only
under "always"), and what each node's home grew by per committed transfer.

--certs has the jinlian load's senders sign as a bank's members do: the
bench organisation gets a root CA in the genesis, each sender a client
certificate it issued, and every envelope carries that certificate, which
CheckTx authenticates (the chain to the root, validity, revocation);
without it they sign with bare keys. kvstore's transactions take the size
of such an envelope.

--cert-refs (with --certs and a --warmup) has the measured load's envelopes
name their certificates by SM3 hash, as signers do once the chain has
recorded their certificates (ADR 0025); the warm-up's envelopes carry them
whole, which records them. kvstore's transactions take the named size.

--history N runs the jinlian load on a chain with history: before the
measurement, N more transfers from the load's senders (to the receivers
the load draws from) are signed chunk by chunk, offered no further ahead
of the commits than three-quarters of a mempool, and committed, with a
line every million (a tenth, for less) giving that step's committed tx/s,
the node process's resident memory and each node's disk. The load's own
figures then measure that chain.

Data lives in a temporary directory, removed afterwards, unless --home is
given (it must then be empty or absent) or --keep is set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := ""
			if cmd.Flags().Changed("home") {
				home = g.home
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			all, summary, err := bench.Run(cmd.Context(), cmd.ErrOrStderr(), self, home, o)
			if err != nil {
				return err
			}
			if summary == nil {
				return emit(cmd.OutOrStdout(), g, all, func(w io.Writer) { bench.PrintTable(w, all) })
			}
			return emit(cmd.OutOrStdout(), g, summary, func(w io.Writer) {
				bench.PrintTable(w, all)
				fmt.Fprintf(w, "\nmedian of %d rounds (ratio: of the medians):\n", o.Repeat)
				bench.PrintTable(w, summary)
			})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Apps, "app", []string{"kvstore", "jinlian"}, "applications to measure in order: kvstore, jinlian, jinlian-shared")
	f.StringSliceVar(&o.Workloads, "workload", []string{"transfer"}, "jinlian apps: transaction types to measure in order: transfer, custody-approve, receivable-transfer, pvp-settle (ratio: of the first run)")
	f.IntVar(&o.Validators, "validators", 4, "validators, all on this machine (1..10; above 8 without ZK checkpoints)")
	f.IntVar(&o.Rate, "rate", 3000, "offered load in tx/s")
	f.IntVar(&o.Count, "count", 60000, "transactions to offer at most")
	f.DurationVar(&o.Duration, "duration", 20*time.Second, "how long to offer load at most")
	f.DurationVar(&o.TimeoutCommit, "timeout-commit", 100*time.Millisecond, "CometBFT consensus.timeout_commit of every node")
	f.IntVar(&o.MempoolSize, "mempool-size", 0, "CometBFT mempool.size of every node, both apps (0: jinlian's default, 4000)")
	f.IntVar(&o.MaxProposalTxs, "max-proposal-txs", 0, "node.max_proposal_txs of every jinlian node: the most transactions a block it proposes holds (0: jinlian's default, 2000; a large number leaves block.max_bytes the only limit); kvstore proposes what block.max_bytes allows")
	f.StringVar(&o.TxIndex, "tx-index", "", "CometBFT tx_index.indexer of every node, both apps: kv or null (empty: each app's default: kv for kvstore; none for jinlian's validators, which keep no tx index, ADR 0028; kv gives them the lean index)")
	f.BoolVar(&o.API, "api", false, "jinlian: every validator serves the API (plain HTTP on loopback) and so keeps the movement index, as a bank's validator that serves its members does (ADR 0029)")
	f.IntVar(&o.Accounts, "accounts", 200, "funded sender accounts of the jinlian load")
	f.Int64Var(&o.SyntheticAccounts, "synthetic-accounts", 0, "jinlian: fund this many generated accounts in the genesis (app_state synthetic_accounts) and send the load's transfers to them, drawn uniformly")
	f.Int64Var(&o.History, "history", 0, "jinlian, transfer workload: commit this many transfers (from the load's senders, to the same receivers) before the measured load, printing the rate every million")
	f.Int64Var(&o.ReservesInterval, "reserves-interval", 0, "jinlian: the genesis reserves_interval (0: the localnet's, every checkpoint interval; negative: no reserves records, as a chain whose reserves heights would stall the load)")
	f.BoolVar(&o.Certs, "certs", false, "jinlian transfer workload: senders sign with client certificates of the bench organisation's root CA (carried in every envelope), not bare keys; kvstore's transactions take that size")
	f.BoolVar(&o.CertRefs, "cert-refs", false, "with --certs and --warmup: the measured load's envelopes name the certificates by SM3 hash (ADR 0025); the warm-up's carry them whole, which records them; kvstore's transactions take the named size")
	f.DurationVar(&o.Warmup, "warmup", 0, "before the measured load, offer --rate for this long and wait for the mempools to empty, so that the nodes are measured warm (grown heaps, filled caches, the senders' SM2 tables); transfer workload and kvstore")
	f.DurationVar(&o.Settle, "settle", 0, "wait this long between a ready network (every node past its first block) and the load, e.g. after a large genesis (after --history, between it and the load)")
	f.StringVar(&o.HeapProfile, "heapprofile", "", "write a heap profile of the node process after the load to FILE.<app>")
	f.IntVar(&o.TxSize, "tx-size", 0, "kvstore transaction size in bytes (default: that of a jinlian transfer)")
	f.IntVar(&o.Batch, "batch", 10, "transactions per JSON-RPC batch (CometBFT's rpc.max_request_batch_size is 10)")
	f.IntVar(&o.Workers, "workers", 8, "concurrent HTTP connections per node (enough that the generator, not the nodes' answer time, sets the offered rate)")
	f.DurationVar(&o.Poll, "poll", 10*time.Millisecond, "how often to ask node0 for the next block")
	f.DurationVar(&o.Drain, "drain", 5*time.Second, "after the load, stop waiting for commits when none came for this long")
	f.DurationVar(&o.MaxDrain, "max-drain", 10*time.Second, "after the load, wait at most this long for the backlog to commit")
	f.BoolVar(&o.CheckResults, "check-results", true, "after the run, read block_results and count failed transactions")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the node process during the load to FILE (suffixed .<app>.<round> when several runs), and split each run's cpu/tx by it into parts (SM2 verification, decoding, each ABCI method, CometBFT's pieces), printed after the results")
	f.BoolVar(&o.Keep, "keep", false, "keep the data directory")
	f.IntVar(&o.Repeat, "repeat", 1, "rounds of all --app runs, interleaved; more than one adds the medians")
	f.StringVar(&o.LogLevel, "log.level", "error", "log level of the nodes")
	cmd.AddCommand(newBenchServeCmd(g))
	return cmd
}

func newBenchServeCmd(g *globals) *cobra.Command {
	var o bench.ServeOptions
	var logLevel string
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run the network of a bench until SIGTERM (used by jinlian bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			appLog, cometLog := loggers(cmd.ErrOrStderr(), logLevel, "text")
			o.Home = g.home
			ready, stop, err := bench.Serve(o, cometLog, appLog)
			if err != nil {
				return err
			}
			bz, err := json.Marshal(ready)
			if err != nil {
				return errors.Join(err, stop())
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(bz))
			waitForSignal()
			return stop()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.App, "app", "jinlian", "application: kvstore, jinlian or jinlian-shared")
	f.IntVar(&o.Validators, "validators", 4, "validators")
	f.IntVar(&o.BasePort, "base-port", localnet.BasePort, "node i uses P2P base+10i and RPC base+10i+1")
	f.DurationVar(&o.TimeoutCommit, "timeout-commit", 300*time.Millisecond, "CometBFT timeout_commit")
	f.IntVar(&o.MempoolSize, "mempool-size", 0, "CometBFT mempool.size (0: jinlian's default)")
	f.StringVar(&o.TxIndex, "tx-index", "", "CometBFT tx_index.indexer (empty: each app's default: kv for kvstore, none for jinlian's validators, ADR 0028)")
	f.BoolVar(&o.API, "api", false, "jinlian: every validator serves the API (plain HTTP on loopback), with the movement index")
	f.StringVar(&o.AccountsFile, "accounts-file", "", "jinlian: file of addresses to fund, one per line")
	f.Int64Var(&o.SyntheticAccounts, "synthetic-accounts", 0, "jinlian: generated accounts the genesis funds")
	f.StringVar(&o.BenchCAFile, "bench-ca", "", "jinlian: file holding the root certificate (PEM) of the bench organisation, whose members then sign with its certificates")
	f.Int64Var(&o.ReservesInterval, "reserves-interval", 0, "jinlian: the genesis reserves_interval (0: every checkpoint interval; negative: no reserves records)")
	f.StringVar(&o.PProf, "pprof", "", "serve net/http/pprof on this address (127.0.0.1:port)")
	f.StringVar(&logLevel, "log.level", "error", "log level: debug, info, warn, error")
	return cmd
}

// waitForSignal waits for SIGINT or SIGTERM.
func waitForSignal() {
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-sig.Done()
}
