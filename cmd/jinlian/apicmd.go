package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

func newAPICmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "api", Short: "The node's client-facing HTTP API (docs/api.md)"}
	var o api.CertOptions
	certs := &cobra.Command{
		Use:   "certs",
		Short: "Create a CA, API server certificates and a client certificate (localnet, tests, a first try)",
		Long: `Writes ca.pem, the server certificate(s), a client certificate and their
unencrypted PKCS#8 keys (mode 0600) into --dir, and prints the api.* config
and the client flags that use them. --mode gmtls makes SM2 certificates: a
signing and an encryption certificate for the server (GM/T 0024). --mode
tls13 makes ECDSA P-256 ones, since Go's TLS 1.3 has no SM2. A production
node takes its certificates from its organisation's CA instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Dir == "" {
				o.Dir = filepath.Join(g.home, "config", "api")
			}
			f, err := api.GenerateCertificates(o)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, f, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %s certificates to %s\n\n# jinlian.toml\n[api]\nlisten = \"%s:26680\"\ntls = %q\ncert_file = %q\nkey_file = %q\n",
					o.Mode, o.Dir, firstHost(o.Hosts), o.Mode, f.Cert, f.Key)
				if o.Mode == nodecfg.APITLSGM {
					fmt.Fprintf(w, "enc_cert_file = %q\nenc_key_file = %q\n", f.EncCert, f.EncKey)
				}
				fmt.Fprintf(w, "client_ca_file = %q  # omit to accept clients without a certificate\n\n", f.CA)
				fmt.Fprintf(w, "# client\njinlian status --node https://%s:26680 --tls-mode %s --tls-ca %s --tls-cert %s --tls-key %s\n",
					firstHost(o.Hosts), o.Mode, f.CA, f.ClientCert, f.ClientKey)
			})
		},
	}
	certs.Flags().StringVar(&o.Mode, "mode", nodecfg.APITLSGM, "gmtls (SM2, dual server certificates) or tls13 (ECDSA P-256)")
	certs.Flags().StringVar(&o.Dir, "dir", "", "output directory (default <home>/config/api); existing files are never overwritten")
	certs.Flags().StringVar(&o.Org, "org", "jinlian", "organisation (subject O) of every certificate")
	certs.Flags().StringSliceVar(&o.Hosts, "hosts", []string{"127.0.0.1", "localhost"}, "DNS names and IP addresses of the API server")
	certs.Flags().StringVar(&o.Client, "client", "client", "common name of the client certificate")
	certs.Flags().IntVar(&o.Days, "days", 365, "validity in days")
	cmd.AddCommand(certs)
	return cmd
}

func firstHost(h []string) string {
	if len(h) == 0 {
		return "127.0.0.1"
	}
	return h[0]
}
