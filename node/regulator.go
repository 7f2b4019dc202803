package node

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/jinlian-ledger/jinlian/api"
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

// RegulatorOptions adjust an observer's regulator service; what is empty
// comes from [regulator] of the configuration.
type RegulatorOptions struct {
	// Listen is the regulator API's address (regulator.listen).
	Listen string
	// KeyFile is the regulator's SM2 key, which decrypts confidential
	// payloads (regulator.key).
	KeyFile string
	// DefaultRules is the rule file written on first start when
	// regulator.rules is empty (regulator.DefaultRulesTOML).
	DefaultRules string
}

// startRegulator starts the regulator service of observer n: its Badger
// index under <home>/data, the rule file (created with defaults on first
// start) and, if an address is set, the API.
func startRegulator(n *Node, o RegulatorOptions, passphrase func(prompt string) ([]byte, error), log *slog.Logger) (*regulator.Service, error) {
	cfg := n.Config
	listen := cmp.Or(o.Listen, cfg.Regulator.Listen)
	keyFile := cmp.Or(o.KeyFile, cfg.Regulator.Key)
	rulesPath := cfg.Regulator.Rules
	if rulesPath == "" {
		rulesPath = RegulatorRulesFile(cfg.Home)
		if _, err := os.Stat(rulesPath); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(rulesPath, []byte(cmp.Or(o.DefaultRules, regulator.DefaultRulesTOML)), 0o644); err != nil {
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
	// The regulator's SQL tables: regulator.sql, else the database of
	// CometBFT's psql event sink when it is on.
	psql := cfg.Regulator.SQL
	c := n.Node.Config()
	if psql == "" && c.TxIndex.Indexer == "psql" {
		psql = c.TxIndex.PsqlConn
	}
	if c.Storage.DiscardABCIResponses {
		// The observer reads every block's results from its node.
		return nil, errors.New("regulator observer: config.toml [storage] discard_abci_responses = true drops the block results the observer indexes; set it to false")
	}
	svc, err := regulator.New(regulator.Config{
		SQLConn:          psql,
		Source:           n.Client(),
		Query:            regulator.QueryFromClient(n.Client()),
		IndexDir:         RegulatorIndexDir(cfg.Home),
		OperatorDir:      RegulatorOperatorDir(cfg.Home),
		RecentCacheBytes: cfg.Regulator.RecentCacheMB << 20,
		IndexMemtable:    cfg.Regulator.IndexMemtableMB << 20,
		AuditKey:         auditKey,
		Rules:            rules,
		Listen:           listen,
		Hosts:            cfg.RegulatorHosts(),
		TLS:              wrap,
		PlainHTTP:        cfg.Regulator.InsecurePlainHTTP,
		Key:              key,
		Logger:           log.With("component", "regulator"),
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
	path := SM2KeyFile(home)
	pw, err := passphrase("Passphrase for node key " + path + " (signs the regulator audit log): ")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := EnsureSM2Key(home, filepath.Base(home), pw); err != nil {
			return nil, fmt.Errorf("node key for the audit log: %w", err)
		}
	}
	_, k, err := gmcrypto.LoadKey(path, pw)
	if err != nil {
		return nil, fmt.Errorf("node key %s (signs the regulator audit log): %w", path, err)
	}
	return k, nil
}
