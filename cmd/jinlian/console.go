package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/console"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

type consoleFlags struct {
	from, lang, listen, observer, timezone string
	ethRPC, anchor, stateDir               string
	pass                                   passphraseFlag
}

func newConsoleCmd(g *globals) *cobra.Command {
	f := &consoleFlags{}
	c := &cobra.Command{
		Use:   "console",
		Short: "Serve the web console on loopback: overview, explorer, statements, governance, regulator alerts",
		Long: `Runs a web console on this machine (127.0.0.1 only) and prints its address
with a random access token, as Jupyter does: open it in a browser. The
console holds the --from key (decrypted once, at start) and talks to --node
as the CLI does: an https:// node's API over GM TLS or TLS 1.3 with the key's
certificate (or --tls-cert/--tls-key), or a node's plain RPC. Every read goes
out with your identity, so the node's read gate decides what you see.

With a key that holds the regulator or auditor role the console also opens
the regulator page against --observer (default: the localnet's observer0, or
JINLIAN_OBSERVER). With --eth-rpc and --anchor the overview shows the
chain's checkpoint anchoring on Ethereum. Labels are Chinese unless --lang
en (docs/console.md).`,
		Example: `  jinlian console --from bankA
  jinlian console --from regulator --lang en
  jinlian console --node https://10.0.0.5:26680 --tls-ca api-ca.pem --from ~/.jinlian/keys/alice.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sig, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := consoleConfig(cmd, g, f)
			if err != nil {
				return err
			}
			s, err := console.New(*cfg)
			if err != nil {
				return err
			}
			if err := s.Start(); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "jinlian console for %s (%s) on %s", cfg.Name, cfg.Org, cfg.Node)
			if cfg.Observer != "" {
				fmt.Fprintf(w, ", observer %s", cfg.Observer)
			}
			fmt.Fprintf(w, "\n\nopen in a browser on this machine:\n\n    %s\n\nrunning until Ctrl-C\n", s.URL())
			<-sig.Done()
			return s.Close()
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.from, "from", "", "your key: a name in <home>/keys (or <home>/localnet/keys) or a key file")
	fl.StringVar(&f.lang, "lang", "zh", "language of the pages: zh or en")
	fl.StringVar(&f.listen, "listen", console.DefaultListen, "loopback address to serve on (port 0: any free port)")
	fl.StringVar(&f.observer, "observer", "", "regulator API of an observer (default for a regulator or auditor key: JINLIAN_OBSERVER, else "+DefaultObserver+")")
	fl.StringVar(&f.timezone, "recon.timezone", console.DefaultTimeZone, "time zone that cuts business days for statements built from a node's plain RPC (a node's API uses its own recon.timezone)")
	fl.StringVar(&f.ethRPC, "eth-rpc", "", "Ethereum JSON-RPC endpoint of the chain's checkpoint anchor: the overview shows the anchoring status (with --anchor; default: what the localnet's node0 recorded in data/checkpoints/anchor.json)")
	fl.StringVar(&f.anchor, "anchor", "", "address of the chain's CheckpointAnchor contract on --eth-rpc")
	fl.StringVar(&f.stateDir, "state-dir", "", "where the console keeps, across restarts, each organisation's last reconciliation column mapping ("+console.MappingsFile+"; default: your config dir's jinlian, ~/.config/jinlian on Linux)")
	f.pass.add(c)
	_ = c.MarkFlagRequired("from")
	return c
}

// consoleConfig loads the key, fills the TLS client identity from it and
// picks the observer.
func consoleConfig(cmd *cobra.Command, g *globals, f *consoleFlags) (*console.Config, error) {
	if f.lang != "zh" && f.lang != "en" {
		return nil, fmt.Errorf("--lang %q: want zh or en", f.lang)
	}
	tz, err := time.LoadLocation(f.timezone)
	if err != nil {
		return nil, fmt.Errorf("--recon.timezone %q: %w", f.timezone, err)
	}
	path, err := keyPath(g.home, f.from)
	if err != nil {
		return nil, err
	}
	info, err := gmcrypto.ReadKeyInfo(path)
	if err != nil {
		return nil, err
	}
	pw, err := f.pass.read("Passphrase for " + path + ": ")
	if err != nil {
		return nil, err
	}
	_, key, err := gmcrypto.LoadKey(path, pw)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	node := apiNode(g.node)
	if strings.HasPrefix(node.Addr, "https://") && node.TLS.CertFile == "" && node.TLS.KeyFile == "" && info.Certificate != "" && node.TLS.Mode == nodecfg.APITLSGM {
		// The API authenticates the console with the same identity that
		// signs: the key file's certificate.
		cert, err := gmcrypto.ParseCertificatePEM([]byte(info.Certificate))
		if err != nil {
			return nil, fmt.Errorf("key %s: certificate: %w", path, err)
		}
		node.TLS.Cert, node.TLS.Key = cert, key
	}
	cfg := &console.Config{Node: node, Key: key, Org: info.Org, Name: info.Name, CertPEM: []byte(info.Certificate),
		Lang: f.lang, Listen: f.listen, Observer: f.observer, TimeZone: tz, EthRPC: f.ethRPC, Anchor: f.anchor}
	if cfg.StateDir = f.stateDir; cfg.StateDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("--state-dir: none given, and %v", err)
		}
		cfg.StateDir = filepath.Join(dir, "jinlian")
	}
	if cfg.EthRPC == "" && cfg.Anchor == "" {
		cfg.EthRPC, cfg.Anchor = localnetAnchor(g.home)
	}
	if cfg.Name == "" {
		cfg.Name = key.Public().Address().String()[:8]
	}
	if cfg.Observer == "" && regulatorRole(cmd.Context(), node, key.Public().Address()) {
		cfg.Observer = DefaultObserver
		if v := os.Getenv("JINLIAN_OBSERVER"); v != "" {
			cfg.Observer = v
		}
	}
	if strings.HasPrefix(cfg.Observer, "https://") {
		t := node.TLS
		if t.Mode == nodecfg.APITLSGM && t.Key == nil && t.KeyFile == "" && info.Certificate != "" {
			cert, err := gmcrypto.ParseCertificatePEM([]byte(info.Certificate))
			if err != nil {
				return nil, fmt.Errorf("key %s: certificate: %w", path, err)
			}
			t.Cert, t.Key = cert, key
		}
		obs := api.Node{Addr: cfg.Observer, TLS: t}
		hc, err := obs.HTTPClient()
		if err != nil {
			return nil, fmt.Errorf("observer: %w", err)
		}
		cfg.ObserverHTTP = hc
	}
	return cfg, nil
}

// localnetAnchor is the Ethereum endpoint and anchor contract that the
// localnet's node0 recorded (node/anchoring's anchor.json, which its
// prover writes when it deploys the anchor on the development chain), or
// nothing.
func localnetAnchor(home string) (rpc, contract string) {
	for _, dir := range []string{filepath.Join(home, "localnet", "node0"), filepath.Join(home, "node0")} {
		if info, ok := nodecfg.ReadAnchorInfo(dir); ok && info.Contract != "" && info.RPC != "" {
			return info.RPC, info.Contract
		}
	}
	return "", ""
}

// regulatorRole reports whether the chain gives addr the regulator or
// auditor role; a node it cannot ask says no (the console then starts
// without the regulator page, and its overview shows why the node failed).
func regulatorRole(ctx context.Context, node api.Node, addr gmcrypto.Address) bool {
	c, err := node.Dial()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := c.ABCIQuery(ctx, "/roles", []byte(addr.String()))
	if err != nil || res.Response.Code != 0 {
		return false
	}
	var ids []struct {
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(res.Response.Value, &ids) != nil || len(ids) == 0 {
		return false
	}
	return slices.ContainsFunc(ids[0].Roles, func(r string) bool { return r == "regulator" || r == "auditor" })
}
