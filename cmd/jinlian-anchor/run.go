package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node/anchoring"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// nodeClient is the RPC client of the node at addr, or, with addr empty,
// of the node whose home is home (its rpc.laddr).
func nodeClient(home, addr string) (*rpchttp.HTTP, error) {
	if addr == "" {
		c, err := consensus.LoadConfig(home)
		if err != nil {
			return nil, fmt.Errorf("--node is not given and %w", err)
		}
		addr = c.RPC.ListenAddress
	}
	cl, err := rpchttp.New(anchoring.DialAddr(addr), "/websocket")
	if err != nil {
		return nil, fmt.Errorf("--node %s: %w", addr, err)
	}
	return cl, nil
}

// logger is the service's log, on standard error; standard output carries
// only what it started (one line when it is ready), for a supervising node.
func logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func newRunCmd(g *globals) *cobra.Command {
	var logLevel string
	var start time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Prove the checkpoints of a node and relay them to the anchor on Ethereum, until SIGINT/SIGTERM",
		Long: `Reads every checkpoint of the node's chain and its validators' signatures
over the node's RPC (--node, default the rpc.laddr of --home), proves it
with the circuit's keys (checkpoint.keys; default the INSECURE development
keys), keeps the proofs in <home>/data/checkpoints, and submits them to the
CheckpointAnchor (checkpoint.anchor, or the one jinlian checkpoint deploy
recorded) at checkpoint.eth_rpc, paid by checkpoint.eth_key. [checkpoint]
comes from --home's jinlian.toml and JINLIAN_CHECKPOINT_* as for jinlian
start; the flags override them.

jinlian start runs this command itself, and restarts it if it exits, when
checkpoint.prover is on. Run it yourself (checkpoint.prover off) to keep the
prover in a process, container or machine of its own: then --home is a
directory of its own holding jinlian.toml's [checkpoint] (or only the flags)
and the proofs, and --node names the node's RPC.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sig, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := nodecfg.Load(g.home, nil)
			if err != nil {
				return err
			}
			for _, a := range []struct {
				flag string
				dst  *string
			}{{"eth-rpc", &cfg.Checkpoint.EthRPC}, {"eth-key", &cfg.Checkpoint.EthKey}, {"anchor", &cfg.Checkpoint.Anchor}, {"keys", &cfg.Checkpoint.Keys}} {
				if f := cmd.Flags().Lookup(a.flag); f.Changed {
					*a.dst = f.Value.String()
				}
			}
			src, err := nodeClient(g.home, g.node)
			if err != nil {
				return err
			}
			log := logger(logLevel)
			ctx, cancel := context.WithTimeout(sig, start)
			an, err := anchoring.StartFromConfig(ctx, cfg, src, log)
			cancel()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "proving the checkpoints of %s into %s, anchored at %s on %s\n",
				src.Remote(), cfg.Home, an.Address().Hex(), cfg.Checkpoint.EthRPC)
			<-sig.Done()
			an.Stop()
			return nil
		},
	}
	cmd.Flags().String("eth-rpc", "", "Ethereum JSON-RPC endpoint of the anchor (checkpoint.eth_rpc)")
	cmd.Flags().String("eth-key", "", "file with the hex secp256k1 key that pays for submissions (checkpoint.eth_key)")
	cmd.Flags().String("anchor", "", "CheckpointAnchor contract address (checkpoint.anchor; default: anchor.json of --home)")
	cmd.Flags().String("keys", "", "directory of the circuit's proving keys (checkpoint.keys; default: the INSECURE development keys)")
	cmd.Flags().StringVar(&logLevel, "log.level", "info", "log level: debug, info, warn, error")
	cmd.Flags().DurationVar(&start, "start-timeout", 2*time.Minute, "how long to wait for the node's first block and the anchor")
	return cmd
}
