package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// DefaultNode is the RPC address of the localnet's first node.
const DefaultNode = "tcp://127.0.0.1:26657"

type globals struct {
	home   string
	output string
	node   string
}

func defaultHome() string {
	if h := os.Getenv("JINLIAN_HOME"); h != "" {
		return h
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return ".jinlian"
	}
	return filepath.Join(dir, ".jinlian")
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "jinlian",
		Short:         "jinlian (金链): a BFT consortium ledger for banks",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch g.output {
			case "text", "json":
				return nil
			}
			return fmt.Errorf("--output %q: want text or json", g.output)
		},
	}
	root.PersistentFlags().StringVar(&g.home, "home", defaultHome(), "home directory (keys, node data)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	node := DefaultNode
	if n := os.Getenv("JINLIAN_NODE"); n != "" {
		node = n
	}
	root.PersistentFlags().StringVar(&g.node, "node", node, "RPC address of the node to talk to (env JINLIAN_NODE)")
	root.AddCommand(
		newKeysCmd(g),
		newTxCmd(g),
		newQueryCmd(g),
		newStatusCmd(g),
		newDebugCmd(g),
		newVerifyCmd(g),
		newCACmd(g),
		newVersionCmd(g),
		newCheckpointCmd(g),
	)
	root.AddCommand(nodeCommands(g)...)
	return root
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
