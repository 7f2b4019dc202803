package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func newCACmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "Organisation certificate authority (SM2 with SM3 X.509)"}

	var org, out string
	var days int
	var pass passphraseFlag
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create an organisation root CA: SM2 key (encrypted) and self-signed certificate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := permission.ValidateOrgID(org); err != nil {
				return fmt.Errorf("--org: %w", err)
			}
			if _, err := os.Stat(filepath.Join(out, ca.CertFile)); err == nil {
				return fmt.Errorf("--out %s already holds a CA", out)
			}
			pw, err := pass.read("Passphrase for the CA key: ")
			if err != nil {
				return err
			}
			auth, err := ca.New(org, days, time.Now())
			if err != nil {
				return err
			}
			if err := auth.Save(out, pw); err != nil {
				return err
			}
			c, _ := gmcrypto.ParseCertificatePEM(auth.CertPEM)
			res := map[string]string{"org": org, "certificate": filepath.Join(out, ca.CertFile), "key": filepath.Join(out, ca.KeyFile),
				"serial": c.Serial(), "not_after": c.NotAfter().UTC().Format(time.RFC3339)}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "root CA of %s: %s (key %s), valid until %s\nregister it as organisations[].root_ca in the genesis\n",
					org, res["certificate"], res["key"], res["not_after"])
			})
		},
	}
	initCmd.Flags().StringVar(&org, "org", "", "organisation id")
	initCmd.Flags().StringVar(&out, "out", "", "directory for the CA's certificate and key")
	initCmd.Flags().IntVar(&days, "days", 3650, "validity in days")
	_ = initCmd.MarkFlagRequired("org")
	_ = initCmd.MarkFlagRequired("out")
	pass.add(initCmd)

	var caDir, name, role, issueOut string
	var issueDays int
	var issuePass passphraseFlag
	issue := &cobra.Command{
		Use:   "issue",
		Short: "Issue an identity certificate with a new SM2 key (saved as a keystore file usable with --from)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := gmcrypto.Role(role)
			if !r.Valid() {
				return fmt.Errorf("--role %q: want client, admin, node or validator", role)
			}
			pw, err := issuePass.read("Passphrase (CA key and new key): ")
			if err != nil {
				return err
			}
			if issueOut == "" {
				issueOut = keysDir(g.home)
			}
			auth, err := ca.Load(caDir, pw)
			if err != nil {
				return err
			}
			key, err := gmcrypto.GenerateKey()
			if err != nil {
				return err
			}
			path, cert, err := auth.IssueIdentity(issueOut, name, r, key, issueDays, pw, time.Now())
			if err != nil {
				return err
			}
			res := map[string]string{"name": name, "org": cert.Org(), "role": role, "serial": cert.Serial(),
				"address": cert.PublicKey().Address().String(), "key_file": path, "not_after": cert.NotAfter().UTC().Format(time.RFC3339)}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "issued %s certificate for %s of %s\nserial:  %s\naddress: %s\nkey:     %s\nvalid until %s\n",
					role, name, cert.Org(), cert.Serial(), res["address"], path, res["not_after"])
			})
		},
	}
	issue.Flags().StringVar(&caDir, "ca", "", "CA directory made by `jinlian ca init`")
	issue.Flags().StringVar(&name, "name", "", "identity name (certificate CN)")
	issue.Flags().StringVar(&role, "role", "client", "client, admin, node or validator")
	issue.Flags().StringVar(&issueOut, "out", "", "directory for the new key file (default <home>/keys)")
	issue.Flags().IntVar(&issueDays, "days", 365, "validity in days")
	_ = issue.MarkFlagRequired("ca")
	_ = issue.MarkFlagRequired("name")
	issuePass.add(issue)

	var serial, reason string
	f := &txFlags{}
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Add a certificate serial to your organisation's on-chain revocation list (admin role)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := permission.NormalizeSerial(serial); err != nil {
				return fmt.Errorf("--serial: %w", err)
			}
			f.ledger = permission.SystemLedger
			return sendTx(cmd, g, f, &txpb.Message{Body: &txpb.Message_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificate{Serial: serial, Reason: reason}}})
		},
	}
	revoke.Flags().StringVar(&serial, "serial", "", "certificate serial (hex)")
	revoke.Flags().StringVar(&reason, "reason", "", "reason recorded with the revocation")
	revoke.Flags().StringVar(&f.from, "from", "", "admin key of the organisation")
	revoke.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for commit")
	_ = revoke.MarkFlagRequired("serial")
	_ = revoke.MarkFlagRequired("from")
	f.pass.add(revoke)

	cmd.AddCommand(initCmd, issue, revoke)
	return cmd
}
