package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/consensus"
)

func newStateSyncCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "statesync",
		Short: "Join a running network by state sync instead of replaying every block",
	}
	cmd.AddCommand(newStateSyncTrustCmd(g))
	return cmd
}

type stateSyncTrustJSON struct {
	TrustHeight int64    `json:"trust_height"`
	TrustHash   string   `json:"trust_hash"`
	RPCServers  []string `json:"rpc_servers"`
	Written     string   `json:"written,omitempty"`
}

func newStateSyncTrustCmd(g *globals) *cobra.Command {
	var second string
	var write bool
	var period time.Duration
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Fill CometBFT's [statesync] from a trusted node: trust_height, trust_hash, rpc_servers",
		Long: `trust asks the node at --node (its CometBFT RPC, e.g. http://bankA:26657),
which the operator trusts, for the hash of a recent block, and prints the
[statesync] settings of CometBFT's config.toml that let a new node join by
state sync (docs/operations.md, "Joining by state sync"). --second names
another member's RPC for the light client to cross-check (CometBFT needs two
rpc_servers; without --second, --node is listed twice). --write sets them,
with enable = true, in <home>/config/config.toml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := g.node.addr
			if strings.HasPrefix(url, "https://") {
				return fmt.Errorf("--node %s: give the node's CometBFT RPC address (http:// or tcp://), not its API", url)
			}
			url = strings.Replace(url, "tcp://", "http://", 1)
			var others []string
			if second != "" {
				others = append(others, strings.Replace(second, "tcp://", "http://", 1))
			}
			t, err := consensus.TrustFrom(cmd.Context(), url, others...)
			if err != nil {
				return err
			}
			out := stateSyncTrustJSON{TrustHeight: t.Height, TrustHash: strings.ToLower(t.Hash), RPCServers: t.RPCServers}
			if write {
				c, err := consensus.LoadConfig(g.home)
				if err != nil {
					return err
				}
				if err := consensus.ApplyStateSync(c, t, period); err != nil {
					return err
				}
				if err := consensus.WriteConfig(g.home, c); err != nil {
					return err
				}
				out.Written = consensus.ConfigFile(g.home)
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "[statesync]\nenable = true\nrpc_servers = %q\ntrust_height = %d\ntrust_hash = %q\n",
					strings.Join(t.RPCServers, ","), t.Height, strings.ToLower(t.Hash))
				if out.Written != "" {
					fmt.Fprintf(w, "# written to %s\n", out.Written)
				}
			})
		},
	}
	cmd.Flags().StringVar(&second, "second", "", "RPC address of a second node for the light client to cross-check")
	cmd.Flags().BoolVar(&write, "write", false, "write the settings into <home>/config/config.toml")
	cmd.Flags().DurationVar(&period, "trust-period", 0, "trust_period (0: keep the config's, CometBFT's default 168h)")
	return cmd
}
