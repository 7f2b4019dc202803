package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// RegulatorIndexDir is an observer's regulator index, inside its home.
func RegulatorIndexDir(home string) string { return filepath.Join(home, "data", "regulator.badger") }

// RegulatorOperatorDir keeps an observer's acknowledgements and signed
// audit log, beside the index: deleting the index to rebuild it keeps them.
func RegulatorOperatorDir(home string) string { return regulator.OperatorDir(RegulatorIndexDir(home)) }

// RegulatorRulesFile is the default rule file of an observer.
func RegulatorRulesFile(home string) string {
	return filepath.Join(home, "config", "regulator_rules.toml")
}

// LocalnetRegulatorPortOffset puts a localnet observer's regulator API at
// its P2P port + 3 (node i: P2P base+10i, RPC +1).
const LocalnetRegulatorPortOffset = 3

// DefaultObserver is the regulator API of the default localnet's observer
// (4 validators, base port 26656: observer0's P2P port is 26696).
const DefaultObserver = "http://127.0.0.1:26699"

// startRegulator starts the regulator service of an observer node: its
// Badger index under <home>/data, the rule file (created with defaults on
// first start) and, if listen is set, the API. passphrase opens
// regulator.key when one is configured.
func startRegulator(cfg *nodecfg.Config, n *consensus.JinlianNode, listen, keyFile, defaultRules string, passphrase func(prompt string) ([]byte, error), log *slog.Logger) (*regulator.Service, error) {
	rulesPath := cfg.Regulator.Rules
	if rulesPath == "" {
		rulesPath = RegulatorRulesFile(cfg.Home)
		if _, err := os.Stat(rulesPath); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(rulesPath, []byte(defaultRules), 0o644); err != nil {
				return nil, fmt.Errorf("write default rules: %w", err)
			}
		}
	}
	rules, err := regulator.LoadRules(rulesPath)
	if err != nil {
		return nil, err
	}
	var key *gmcrypto.PrivateKey
	if keyFile != "" {
		pw, err := passphrase("Passphrase for regulator key " + keyFile + ": ")
		if err != nil {
			return nil, err
		}
		if _, key, err = gmcrypto.LoadKey(keyFile, pw); err != nil {
			return nil, fmt.Errorf("regulator.key: %w", err)
		}
	}
	var auditKey *gmcrypto.PrivateKey // no API, no audit entries to sign
	if listen != "" {
		if auditKey, err = observerAuditKey(cfg.Home, passphrase); err != nil {
			return nil, err
		}
	}
	var wrap func(net.Listener) net.Listener
	if t := cfg.RegulatorTLS(); t.Mode != nodecfg.APITLSNone {
		st := api.ServerTLS{Mode: t.Mode, CertFile: t.CertFile, KeyFile: t.KeyFile, EncCertFile: t.EncCertFile, EncKeyFile: t.EncKeyFile, ClientCAFile: t.ClientCAFile}
		if wrap, err = st.Listener(log); err != nil {
			return nil, fmt.Errorf("regulator.tls = %s: %w", t.Mode, err)
		}
	}
	// With CometBFT's psql event sink on, block times go to the same database.
	psql := ""
	c := n.Node.Config()
	if c.TxIndex.Indexer == "psql" {
		psql = c.TxIndex.PsqlConn
	}
	if c.Storage.DiscardABCIResponses {
		// The observer reads every block's results from its node.
		return nil, errors.New("regulator observer: config.toml [storage] discard_abci_responses = true drops the block results the observer indexes; set it to false")
	}
	svc, err := regulator.New(regulator.Config{
		PsqlConn:    psql,
		Source:      n.Client(),
		Query:       regulator.QueryFromClient(n.Client()),
		IndexDir:    RegulatorIndexDir(cfg.Home),
		OperatorDir: RegulatorOperatorDir(cfg.Home),
		AuditKey:    auditKey,
		Rules:       rules,
		Listen:      listen,
		Hosts:       cfg.RegulatorHosts(),
		TLS:         wrap,
		PlainHTTP:   cfg.Regulator.InsecurePlainHTTP,
		Key:         key,
		Logger:      log.With("component", "regulator"),
	})
	if err != nil {
		return nil, err
	}
	if err := svc.Start(context.Background()); err != nil {
		return nil, errors.Join(err, svc.Stop())
	}
	log.Info("regulator observer", "api", svc.URL(), "rules", rulesPath, "index", RegulatorIndexDir(cfg.Home), "decryption", key != nil,
		"audit_signer", hex.EncodeToString(svc.Index().AuditPublicKey().Bytes()))
	return svc, nil
}

// observerAuditKey is the observer node's SM2 key, which signs the audit
// chain; an observer home without one (a localnet's) gets one, encrypted
// under the same passphrase.
func observerAuditKey(home string, passphrase func(prompt string) ([]byte, error)) (*gmcrypto.PrivateKey, error) {
	path := consensus.NodeKeyFile(home)
	pw, err := passphrase("Passphrase for node key " + path + " (signs the regulator audit log): ")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := consensus.EnsureNodeKey(home, filepath.Base(home), pw); err != nil {
			return nil, fmt.Errorf("node key for the audit log: %w", err)
		}
	}
	_, k, err := gmcrypto.LoadKey(path, pw)
	if err != nil {
		return nil, fmt.Errorf("node key %s (signs the regulator audit log): %w", path, err)
	}
	return k, nil
}

// LocalnetRulesTOML scales the default rules to the localnet's demo
// balances (10,000.00 CNY per bank), so that its transfers can raise alerts.
const LocalnetRulesTOML = `# jinlian regulator rules for the localnet, scaled to its demo balances
# (1,000,000 fen = 10,000.00 CNY per bank). Amounts are in the asset's
# smallest unit; windows are block time.

[large_amount]
severity = "high"
[large_amount.thresholds]
CNY = 100000   # 1,000.00 CNY
USD = 100000

[structuring]
severity = "high"
window = "1h"
count = 3
margin = 0.1

[velocity]
severity = "medium"
window = "10m"
max_count = 20
[velocity.max_amount]
CNY = 300000

[fast_in_fast_out]
severity = "high"
window = "30m"
percent = 80
[fast_in_fast_out.min_amount]
CNY = 50000

[sanctions]
severity = "critical"
lookback = "24h"

[cross_border]
severity = "medium"
timezone = "UTC"
[cross_border.default_limit]
CNY = 500000
`

// startObserver runs the regulator service when `jinlian start` runs an
// observer; it returns the function that stops it.
func startObserver(cfg *nodecfg.Config, n *consensus.JinlianNode, pass passphraseFlag, log *slog.Logger) (func() error, error) {
	if cfg.Node.Mode != nodecfg.ModeObserver {
		return func() error { return nil }, nil
	}
	svc, err := startRegulator(cfg, n, cfg.Regulator.Listen, cfg.Regulator.Key, regulator.DefaultRulesTOML, pass.read, log)
	if err != nil {
		return nil, err
	}
	return svc.Stop, nil
}

// startLocalnetObservers runs the regulator service of every observer of
// a localnet, at its P2P port + 3 unless its jinlian.toml says otherwise,
// with the localnet regulator's key for decryption. It prints where.
func startLocalnetObservers(ln *consensus.Localnet, nodes []*consensus.JinlianNode, log *slog.Logger) (func() error, []observerAPI, error) {
	var svcs []*regulator.Service
	var apis []observerAPI
	stop := func() error {
		var errs []error
		for _, s := range svcs {
			errs = append(errs, s.Stop())
		}
		return errors.Join(errs...)
	}
	keyFile := filepath.Join(consensus.LocalnetKeysDir(ln.Home), "regulator.json")
	localnetPass := func(string) ([]byte, error) { return []byte(consensus.LocalnetPassphrase), nil }
	for i, n := range nodes {
		cfg := n.Config
		if cfg.Node.Mode != nodecfg.ModeObserver {
			continue
		}
		listen := cfg.Regulator.Listen
		if listen == "" {
			host, port, err := net.SplitHostPort(ln.Network.Nodes[i].P2PAddr)
			if err != nil {
				return stop, nil, err
			}
			p, _ := strconv.Atoi(port)
			listen = net.JoinHostPort(host, strconv.Itoa(p+LocalnetRegulatorPortOffset))
		}
		kf := cfg.Regulator.Key
		if kf == "" {
			if _, err := os.Stat(keyFile); err == nil {
				kf = keyFile
			}
		}
		svc, err := startRegulator(cfg, n, listen, kf, LocalnetRulesTOML, localnetPass, log)
		if err != nil {
			return stop, nil, fmt.Errorf("regulator of %s: %w", ln.Network.Nodes[i].Moniker, err)
		}
		svcs = append(svcs, svc)
		apis = append(apis, observerAPI{Moniker: ln.Network.Nodes[i].Moniker, URL: svc.URL()})
	}
	return stop, apis, nil
}

// observerAPI is a localnet observer's regulator API, for the summary.
type observerAPI struct {
	Moniker string `json:"moniker"`
	URL     string `json:"regulator_api"`
}

func printObserver(w io.Writer, moniker, url string) {
	fmt.Fprintf(w, "regulator API of %s: %s (key: regulator, passphrase %q)\n", moniker, url, consensus.LocalnetPassphrase)
	flag := ""
	if url != DefaultObserver {
		flag = " --observer " + url
	}
	fmt.Fprintf(w, "  jinlian reg%s alerts --follow\n  jinlian reg%s txs --asset CNY\n", flag, flag)
}
