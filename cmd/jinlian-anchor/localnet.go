package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/node/anchoring"
)

// newLocalnetCmd is what `jinlian localnet` runs when jinlian is a plain
// (production) build: node0's prover and relayer on a development chain.
func newLocalnetCmd(g *globals) *cobra.Command {
	var lnHome, logLevel string
	var eth anchoring.LocalnetEth
	cmd := &cobra.Command{
		Use:   "localnet",
		Short: "Prove and anchor the checkpoints of a localnet's node on a development Ethereum chain (jinlian localnet runs this)",
		Long: `Deploys a fresh CheckpointAnchor trusting the localnet's epoch 0 and proves
and anchors the checkpoints of the node at --node (home --home) until
SIGINT/SIGTERM, on the Ethereum endpoint --eth-rpc, else on a geth --dev
process (geth on PATH) with its data under --localnet-home. Without either it
says that anchoring is off and exits. jinlian localnet runs this command
itself; its first line of output says what it started.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sig, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			src, err := nodeClient(g.home, g.node)
			if err != nil {
				return err
			}
			if lnHome == "" {
				lnHome = g.home
			}
			stopAnchoring, err := anchoring.StartLocalnet(sig, cmd.OutOrStdout(), src, g.home, lnHome, eth, logger(logLevel))
			if err != nil || stopAnchoring == nil {
				return err
			}
			<-sig.Done()
			stopAnchoring()
			return nil
		},
	}
	cmd.Flags().StringVar(&lnHome, "localnet-home", "", "the localnet's directory, where geth --dev keeps its data and log (default --home)")
	cmd.Flags().StringVar(&eth.Listen, "eth.listen", "127.0.0.1:8545", "JSON-RPC address of geth --dev; empty: a free port")
	cmd.Flags().StringVar(&eth.RPC, "eth-rpc", "", "anchor on this Ethereum JSON-RPC endpoint instead of geth --dev")
	cmd.Flags().StringVar(&eth.Key, "eth-key", "", "with --eth-rpc: file with the hex secp256k1 key that pays (default: a key funded by the endpoint's unlocked dev account)")
	cmd.Flags().StringVar(&logLevel, "log.level", "warn", "log level: debug, info, warn, error")
	return cmd
}
