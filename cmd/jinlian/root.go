package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/spf13/cobra"
)

// DefaultNode is the RPC address of the localnet's first node.
const DefaultNode = "tcp://127.0.0.1:26657"

type globals struct {
	home   string
	output string
	node   nodeFlags
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "jinlian",
		Short:         "jinlian (金链): a BFT consortium ledger for banks",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			formats := "text,json"
			if f, ok := cmd.Annotations[outputFormats]; ok {
				formats = f
			}
			if slices.Contains(strings.Split(formats, ","), g.output) {
				return nil
			}
			return fmt.Errorf("--output %q: want %s", g.output, strings.Join(strings.Split(formats, ","), ", "))
		},
	}
	root.PersistentFlags().StringVar(&g.home, "home", nodecfg.DefaultHome(), "home directory (keys, node data)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json (statement: csv too)")
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.node.addr, "node", env("JINLIAN_NODE", DefaultNode), "RPC address of the node, or https://host:port of its API (env JINLIAN_NODE)")
	pf.StringVar(&g.node.tls.Mode, "tls-mode", env("JINLIAN_TLS_MODE", defaultTLSMode), "for an https:// --node or --observer: gmtls (GM TLS, SM2) or tls13 (env JINLIAN_TLS_MODE)")
	pf.StringVar(&g.node.tls.CAFile, "tls-ca", env("JINLIAN_TLS_CA", ""), "for an https:// --node or --observer: PEM bundle of the CAs of the API's certificate (env JINLIAN_TLS_CA)")
	pf.StringVar(&g.node.tls.CertFile, "tls-cert", env("JINLIAN_TLS_CERT", ""), "client certificate (PEM) for an API that requires one (env JINLIAN_TLS_CERT)")
	pf.StringVar(&g.node.tls.KeyFile, "tls-key", env("JINLIAN_TLS_KEY", ""), "its key: PKCS#8 PEM, or (gmtls) a jinlian key file whose certificate is used when --tls-cert is empty (env JINLIAN_TLS_KEY)")
	root.AddCommand(
		newKeysCmd(g),
		newTxCmd(g),
		newQueryCmd(g),
		newStatusCmd(g),
		newDebugCmd(g),
		newVerifyCmd(g),
		newCACmd(g),
		newGovCmd(g),
		newIdentityCmd(g),
		newVersionCmd(g),
		newAPICmd(g),
		newBenchCmd(g),
		newRegCmd(g),
		newStatementCmd(g),
		newReconCmd(g),
		newEventsCmd(g),
		newCheckpointCmd(g),
		newGenesisCmd(g),
		newConsoleCmd(g),
		newStateSyncCmd(g),
	)
	root.AddCommand(nodeCommands(g)...)
	return root
}

// outputFormats is the annotation by which a command accepts other
// --output formats than text and json: a comma-separated list.
const outputFormats = "jinlian/output"

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
