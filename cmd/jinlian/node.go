package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
)

func nodeCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{newInitCmd(g), newStartCmd(g), newLocalnetCmd(g)}
}

// loggers builds the app's slog logger and CometBFT's logger. CometBFT is
// chatty at info, so it logs one level above the app unless debugging.
func loggers(w io.Writer, level, format string) (*slog.Logger, cmtlog.Logger) {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	var cl cmtlog.Logger
	if format == "json" {
		cl = cmtlog.NewTMJSONLogger(cmtlog.NewSyncWriter(w))
	} else {
		cl = cmtlog.NewTMLogger(cmtlog.NewSyncWriter(w))
	}
	switch level {
	case "debug":
		cl = cmtlog.NewFilter(cl, cmtlog.AllowDebug())
	case "info":
		cl = cmtlog.NewFilter(cl, cmtlog.AllowError())
	default:
		cl = cmtlog.NewFilter(cl, cmtlog.AllowError())
	}
	return slog.New(h), cl
}

// initResult is what `jinlian init` prints. validator_address and
// sm2_public_key stay at the top level for scripts of earlier versions.
type initResult struct {
	Home             string           `json:"home"`
	ChainID          string           `json:"chain_id"`
	Moniker          string           `json:"moniker"`
	ValidatorAddress string           `json:"validator_address"`
	SM2PublicKey     string           `json:"sm2_public_key"`
	Registration     nodeRegistration `json:"registration"`
	RegistrationFile string           `json:"registration_file,omitempty"`
	// InGenesis says which genesis validator this home is, if any.
	InGenesis string `json:"in_genesis,omitempty"`
}

func newInitCmd(g *globals) *cobra.Command {
	var genesisFile, moniker, chainIDFlag, org, regOut string
	var pass passphraseFlag
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Prepare a node home (config, node key, validator key, SM2 node key, checkpoint key), print its registration, install the genesis",
		Long: `Creates what the home lacks (config.toml, jinlian.toml, the P2P node key, the
consensus key, the SM2 node key and, with a chain id, the checkpoint key,
both encrypted under the node key's passphrase) and never replaces a key.

It prints the node's registration: node id, consensus public key and
address, SM2 node public key, and with --chain-id the checkpoint key with
its proof of possession, signed by the SM2 node key for that chain. A
founding bank sends it (--registration-out FILE) to the genesis
coordinator, who adds it with jinlian genesis add-validator FILE.

With --genesis FILE it installs the network's final genesis after checking
it as every node will, and says whether the genesis names this home's keys
(an error if it names this validator with other keys).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var gen []byte
			chain := chainIDFlag
			var genState *app.GenesisState
			if genesisFile != "" {
				var err error
				if gen, err = os.ReadFile(genesisFile); err != nil {
					return fmt.Errorf("--genesis: %w", err)
				}
				doc, err := types.GenesisDocFromJSON(gen)
				if err != nil {
					return fmt.Errorf("genesis %s: %w", genesisFile, err)
				}
				var vals []abci.ValidatorUpdate
				for _, v := range doc.Validators {
					vals = append(vals, types.TM2PB.NewValidatorUpdate(v.PubKey, v.Power))
				}
				if err := app.CheckGenesis(doc.ChainID, doc.AppState, vals, doc.GenesisTime); err != nil {
					return fmt.Errorf("genesis %s: %w", genesisFile, err)
				}
				if chain != "" && chain != doc.ChainID {
					return fmt.Errorf("--chain-id %s, but the genesis is of chain %s", chain, doc.ChainID)
				}
				if genState, err = app.ParseGenesis(doc.AppState); err != nil {
					return fmt.Errorf("genesis %s: %w", genesisFile, err)
				}
				chain = doc.ChainID
			}
			if org != "" {
				if err := permission.ValidateOrgID(org); err != nil {
					return fmt.Errorf("--org: %w", err)
				}
			}
			if moniker == "" {
				if c, err := consensus.LoadConfig(g.home); err == nil && c.Moniker != "" {
					moniker = c.Moniker // the home's own, from an earlier init
				} else {
					moniker, _ = os.Hostname()
				}
			}
			var inGenesis string
			if genState != nil {
				// Before anything is written: a genesis that names this
				// validator with other keys is refused, changing nothing.
				var err error
				if inGenesis, err = checkHomeInGenesis(g.home, genState.Validators, genState.CheckpointKeys); err != nil {
					return fmt.Errorf("genesis %s: %w", genesisFile, err)
				}
			}
			if err := consensus.InitHome(g.home, gen, moniker); err != nil {
				return err
			}
			if _, err := os.Stat(nodecfg.Path(g.home)); errors.Is(err, os.ErrNotExist) {
				if err := nodecfg.Default(g.home).WriteFile(); err != nil {
					return err
				}
			}
			var pw []byte
			readPass := func() error {
				if pw != nil {
					return nil
				}
				var err error
				pw, err = pass.read("Passphrase for the node key " + node.SM2KeyFile(g.home) + ": ")
				return err
			}
			if _, err := os.Stat(node.SM2KeyFile(g.home)); errors.Is(err, os.ErrNotExist) {
				if err := readPass(); err != nil {
					return err
				}
				if _, err := node.EnsureSM2Key(g.home, moniker, pw); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			// The checkpoint key is registered for the chain named by
			// --chain-id; installing a genesis (which holds the
			// registration already) needs none.
			regChain := chainIDFlag
			if regChain != "" {
				if err := readPass(); err != nil {
					return err
				}
			}
			reg, err := homeRegistration(g.home, moniker, org, regChain, pw)
			if err != nil {
				return err
			}
			out := initResult{Home: g.home, ChainID: chain, Moniker: moniker, ValidatorAddress: reg.Address,
				SM2PublicKey: reg.SM2PublicKey, Registration: reg, InGenesis: inGenesis}
			if out.ChainID == "" {
				out.ChainID = "(no genesis yet)"
			}
			if regOut != "" {
				b, err := json.MarshalIndent(reg, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(regOut, append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("--registration-out: %w", err)
				}
				out.RegistrationFile = regOut
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "initialised %s for chain %s (moniker %s)\n", g.home, out.ChainID, moniker)
				fmt.Fprintf(w, "node id:           %s\nconsensus address: %s\nconsensus key:     %s\nSM2 node key:      %s\n",
					reg.NodeID, reg.Address, reg.PubKey, reg.SM2PublicKey)
				if reg.CheckpointKey != nil {
					fmt.Fprintf(w, "checkpoint key:    %x (proof of possession for chain %s)\n", []byte(reg.CheckpointKey.CheckpointKey), reg.ChainID)
				}
				switch {
				case genState != nil && inGenesis != "":
					fmt.Fprintf(w, "the genesis names this node: %s\n", inGenesis)
				case genState != nil:
					fmt.Fprintln(w, "this node is no genesis validator (a full node, or a validator to be added by governance)")
				case regOut != "":
					fmt.Fprintf(w, "registration written to %s: send it to the genesis coordinator (jinlian genesis add-validator %s --org <org>)\n", regOut, regOut)
				default:
					fmt.Fprintln(w, "write the registration for the genesis coordinator with --registration-out FILE (and --chain-id, for the checkpoint key)")
				}
				fmt.Fprintf(w, "edit %s (peers) and %s, then run: jinlian start --home %s\n", consensus.ConfigFile(g.home), nodecfg.Path(g.home), g.home)
			})
		},
	}
	cmd.Flags().StringVar(&genesisFile, "genesis", "", "genesis.json of the network (omit to create keys first and print the node's registration)")
	cmd.Flags().StringVar(&moniker, "moniker", "", "node name (default: host name)")
	cmd.Flags().StringVar(&chainIDFlag, "chain-id", "", "chain the registration is for: makes the checkpoint key and its proof of possession (needs the passphrase)")
	cmd.Flags().StringVar(&org, "org", "", "the node's organisation, recorded in the registration")
	cmd.Flags().StringVar(&regOut, "registration-out", "", "write the node's registration (JSON) to this file, for jinlian genesis add-validator")
	pass.add(cmd)
	return cmd
}

func newStartCmd(g *globals) *cobra.Command {
	var pass passphraseFlag
	var mode string
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run one node from its home until SIGINT/SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --eth-rpc, --eth-key and --anchor are short for
			// --checkpoint.<key>: set those before Load validates.
			for _, a := range []struct{ alias, key string }{
				{"eth-rpc", "checkpoint.eth_rpc"}, {"eth-key", "checkpoint.eth_key"}, {"anchor", "checkpoint.anchor"},
			} {
				if f := cmd.Flags().Lookup(a.alias); f.Changed {
					if err := cmd.Flags().Set(a.key, f.Value.String()); err != nil {
						return err
					}
				}
			}
			cfg, err := nodecfg.Load(g.home, cmd.Flags())
			if err != nil {
				return err
			}
			if mode != "" { // --mode is short for --node.mode
				cfg.Node.Mode = mode
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			appLog, cometLog := loggers(cmd.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
			// A restart into block sync reads the key passphrases again:
			// ask (or read the file) once.
			passphrase := rememberPassphrases(pass.read)
			// From the start, so that a signal during a restart into
			// block sync stops the node cleanly too.
			sig, stopSig := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stopSig()
			for {
				n, err := node.Start(cmd.Context(), cfg, node.Options{Passphrase: passphrase, CometLogger: cometLog, Logger: appLog,
					StartAnchoring: inProcessAnchoring(appLog)})
				if err != nil {
					return err
				}
				appLog.Info("node started", "home", g.home, "rpc", n.RPCAddr(), "node_id", n.NodeID(), "mode", cfg.Node.Mode)
				if !waitForSignalOr(sig, n.Halted()) {
					appLog.Info("stopping")
					return n.Stop()
				}
				herr := n.HaltErr()
				if errors.Is(herr, consensus.ErrFallenBehind) {
					// Consensus gossip catches up one height per
					// exchange; CometBFT returns to block sync only
					// when the node starts again.
					appLog.Warn("fallen behind the network: restarting into block sync", "err", herr)
					if err := n.Stop(); err != nil {
						return err
					}
					continue
				}
				// CometBFT keeps the process, RPC and mempool up at a
				// frozen height; exit instead, so that a supervisor
				// (systemd, Docker) sees it and restarts the node.
				if free, err := consensus.DiskFree(g.home); err == nil && free < consensus.FlushRoom {
					// Closing the ledger writes its memtables through
					// memory-mapped files, which on a full disk crashes
					// the process; what is committed is in the databases'
					// logs already, and the next start recovers it.
					appLog.Error("consensus halted: exiting without closing the databases (the disk is full)", "err", herr)
					return herr
				}
				appLog.Error("consensus halted: exiting", "err", herr)
				return errors.Join(herr, n.Stop())
			}
		},
	}
	nodecfg.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&mode, "mode", "", "validator or observer (same as --node.mode)")
	cmd.Flags().String("eth-rpc", "", "same as --checkpoint.eth_rpc")
	cmd.Flags().String("eth-key", "", "same as --checkpoint.eth_key")
	cmd.Flags().String("anchor", "", "same as --checkpoint.anchor")
	pass.add(cmd)
	return cmd
}

// rememberPassphrases answers each prompt once through read and repeats
// the answer after.
func rememberPassphrases(read func(prompt string) ([]byte, error)) func(prompt string) ([]byte, error) {
	var mu sync.Mutex
	seen := map[string][]byte{}
	return func(prompt string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if pw, ok := seen[prompt]; ok {
			return pw, nil
		}
		pw, err := read(prompt)
		if err == nil {
			seen[prompt] = pw
		}
		return pw, err
	}
}

// waitForSignalOr waits for sig to end (SIGINT/SIGTERM) or for halted to
// close, and reports whether halted did.
func waitForSignalOr(sig context.Context, halted <-chan struct{}) bool {
	select {
	case <-sig.Done():
		return false
	case <-halted:
		return true
	}
}

// anyHalted closes when the consensus of any of nodes halts.
func anyHalted(nodes []*node.Node) (<-chan struct{}, func() error) {
	ch := make(chan struct{})
	var once sync.Once
	var which atomic.Pointer[node.Node]
	for _, n := range nodes {
		go func() {
			<-n.Halted()
			once.Do(func() { which.Store(n); close(ch) })
		}()
	}
	return ch, func() error {
		if n := which.Load(); n != nil {
			return fmt.Errorf("%s: %w", n.Home(), n.HaltErr())
		}
		return nil
	}
}

func newLocalnetCmd(g *globals) *cobra.Command {
	opts := localnet.Options{}
	var logLevel string
	var eth localnetEthFlags
	cmd := &cobra.Command{
		Use:   "localnet",
		Short: "Run a whole consortium on 127.0.0.1 in one process (development)",
		Long: `Starts N validators (one per organisation bankA..bankJ), each a real CometBFT
node with its own home, keys and Badger database under --home (default
<home>/localnet). The first start creates everything; later starts resume
from the same data. --reset deletes it first.

Node0 proves each checkpoint and anchors it on a development Ethereum chain,
deploying a fresh anchor at each start: the in-process chain of a
development build (go run -tags dev ./cmd/jinlian localnet), else a
geth --dev process when geth is on PATH, or the endpoint named by --eth-rpc.
A development build proves in this process; a plain build runs
jinlian-anchor localnet for node0 (jinlian-anchor next to this executable
or on PATH). Without a chain, or a plain build without jinlian-anchor, the
localnet runs unanchored and says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// From the start, so that a signal while the nodes or the
			// development chain start (geth takes seconds) stops cleanly.
			sig, stopSig := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stopSig()
			if !cmd.Flags().Changed("home") && opts.Home == "" {
				opts.Home = filepath.Join(g.home, "localnet")
			} else if opts.Home == "" {
				opts.Home = g.home
			}
			ln, err := localnet.Prepare(opts)
			if err != nil {
				return err
			}
			appLog, cometLog := loggers(cmd.ErrOrStderr(), logLevel, "text")
			nodes, err := ln.Start(sig, cometLog, appLog)
			if err != nil {
				return err
			}
			printLocalnet(cmd.OutOrStdout(), g, ln, nodes)
			stopAnchoring, err := startLocalnetAnchoring(sig, cmd.ErrOrStderr(), nodes[0], ln.Home, eth, appLog)
			if err != nil && sig.Err() == nil {
				return errors.Join(err, node.StopAll(nodes))
			} else if err != nil { // interrupted while starting
				stopAnchoring = func() {}
			}
			halted, haltErr := anyHalted(nodes)
			select {
			case <-sig.Done():
			case <-halted:
				appLog.Error("consensus halted: stopping the localnet", "err", haltErr())
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping localnet...")
			stopAnchoring()
			return errors.Join(haltErr(), node.StopAll(nodes))
		},
	}
	cmd.Flags().IntVar(&opts.Validators, "validators", 4, "number of validators (1..10; above 8 with --checkpoint-interval -1)")
	cmd.Flags().IntVar(&opts.Observers, "observers", 1, "number of regulator observer nodes (0..4)")
	cmd.Flags().BoolVar(&opts.Reset, "reset", false, "delete the localnet's data first")
	cmd.Flags().IntVar(&opts.BasePort, "base-port", localnet.BasePort, "node i uses P2P base+10i and RPC base+10i+1")
	cmd.Flags().DurationVar(&opts.TimeoutCommit, "timeout-commit", 0, "CometBFT timeout_commit (default 300ms)")
	cmd.Flags().StringVar(&logLevel, "log.level", "warn", "log level: debug, info, warn, error")
	cmd.Flags().Int64Var(&opts.CheckpointInterval, "checkpoint-interval", 0, fmt.Sprintf("blocks between checkpoints when the localnet is created (default %d; -1: none)", localnet.CheckpointInterval))
	cmd.Flags().StringVar(&eth.listen, "eth.listen", "127.0.0.1:8545", "JSON-RPC address of the development Ethereum chain (in-process with -tags dev, else geth --dev); empty: the in-process one is not served, geth takes a free port")
	cmd.Flags().StringVar(&eth.rpc, "eth-rpc", "", "anchor on this Ethereum JSON-RPC endpoint instead (a new anchor is deployed at each start)")
	cmd.Flags().StringVar(&eth.key, "eth-key", "", "with --eth-rpc: file with the hex secp256k1 key that pays (default: a key funded by the endpoint's unlocked dev account)")
	cmd.Flags().BoolVar(&opts.NoVoteExtensions, "no-vote-extensions", false, "create the network without vote extensions, so without SM2 quorum certificates (for measuring their cost)")
	return cmd
}

type localnetJSON struct {
	ChainID    string              `json:"chain_id"`
	Home       string              `json:"home"`
	Resumed    bool                `json:"resumed"`
	Passphrase string              `json:"passphrase"`
	Nodes      []map[string]string `json:"nodes"`
	Identities []localnet.Identity `json:"identities"`
	Observers  []observerAPI       `json:"observers,omitempty"`
}

func printLocalnet(w io.Writer, g *globals, ln *localnet.Net, nodes []*node.Node) {
	var observers []observerAPI
	for i, n := range nodes {
		if n.Regulator != nil {
			observers = append(observers, observerAPI{Moniker: ln.Network.Nodes[i].Moniker, URL: n.Regulator.URL()})
		}
	}
	out := localnetJSON{ChainID: ln.Network.ChainID, Home: ln.Home, Resumed: !ln.Created,
		Passphrase: localnet.Passphrase, Identities: ln.Identities, Observers: observers}
	for i, n := range nodes {
		out.Nodes = append(out.Nodes, map[string]string{
			"moniker": ln.Network.Nodes[i].Moniker, "home": n.Home(), "rpc": n.RPCAddr(), "node_id": n.NodeID(),
		})
	}
	_ = emit(w, g, out, func(w io.Writer) {
		verb := "created"
		if !ln.Created {
			verb = "resumed"
		}
		vals := 0
		for _, n := range ln.Network.Nodes {
			if n.Power > 0 {
				vals++
			}
		}
		fmt.Fprintf(w, "jinlian localnet %s: chain %s, %d validators, %d observers, data in %s\n\n", verb, out.ChainID, vals, len(nodes)-vals, ln.Home)
		for _, n := range out.Nodes {
			fmt.Fprintf(w, "  %-6s rpc %s  id %s\n", n["moniker"], n["rpc"], n["node_id"])
		}
		fmt.Fprintf(w, "\ndemo identities (banks funded with %d CNY; keys encrypted with passphrase %q):\n", localnet.Funding, localnet.Passphrase)
		for _, id := range ln.Identities {
			fmt.Fprintf(w, "  %-6s %s  %s\n", id.Org, id.Address, id.KeyFile)
		}
		if len(ln.Identities) > 1 {
			flags := ""
			if ln.Home != filepath.Join(nodecfg.DefaultHome(), "localnet") {
				flags += " --home " + ln.Home
			}
			if len(out.Nodes) > 0 && "tcp://"+strings.TrimPrefix(out.Nodes[0]["rpc"], "tcp://") != DefaultNode {
				flags += " --node " + out.Nodes[0]["rpc"]
			}
			fmt.Fprintf(w, "\ntry:\n  export JINLIAN_PASSPHRASE=%s\n  jinlian%s tx transfer --from %s --asset CNY --to %s --amount 100\n  jinlian%s query balance --asset CNY --account %s\n",
				localnet.Passphrase, flags, ln.Identities[0].Name, ln.Identities[1].Address, flags, ln.Identities[1].Address)
		}
		for _, o := range observers {
			fmt.Fprintln(w)
			printObserver(w, o.Moniker, o.URL)
		}
		fmt.Fprintf(w, "\nrunning until Ctrl-C (%s)\n", time.Now().Format(time.TimeOnly))
	})
}
