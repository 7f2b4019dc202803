package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

type globals struct {
	home   string
	output string
	node   string // the node's RPC (run, localnet); "" = rpc.laddr of home
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "jinlian-anchor",
		Short:         "jinlian's checkpoint prover and relayer: proves checkpoints and anchors them on Ethereum",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if slices.Contains([]string{"text", "json"}, g.output) {
				return nil
			}
			return fmt.Errorf("--output %q: want text, json", g.output)
		},
	}
	root.PersistentFlags().StringVar(&g.home, "home", nodecfg.DefaultHome(), "home directory of the node (its configuration, data/checkpoints)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.PersistentFlags().StringVar(&g.node, "node", "", "RPC address of the node, for run and localnet (default: rpc.laddr of --home's config.toml)")
	// jinlian's client flags, which `jinlian checkpoint ...` passes on
	// with the rest of its arguments; the checkpoint commands read no node.
	for _, f := range []string{"tls-mode", "tls-ca", "tls-cert", "tls-key"} {
		root.PersistentFlags().String(f, "", "ignored (a flag of jinlian's)")
		_ = root.PersistentFlags().MarkHidden(f)
	}
	root.AddCommand(newRunCmd(g), newLocalnetCmd(g), newCheckpointCmd(g), newVersionCmd(g))
	return root
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := map[string]any{"version": app.Version, "app_protocol": app.AppVersion}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "jinlian-anchor %s (app protocol %d)\n", app.Version, app.AppVersion)
			})
		},
	}
}

// emit prints v as JSON, or calls text to print it for humans.
func emit(w io.Writer, g *globals, v any, text func(io.Writer)) error {
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}
