package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
)

func keysDir(home string) string { return filepath.Join(home, "keys") }

// keyPath resolves --from: a path to a key file, or a name looked up in
// <home>/keys and then in the localnet's <home>/localnet/keys.
func keyPath(home, nameOrPath string) (string, error) {
	if strings.ContainsRune(nameOrPath, os.PathSeparator) || strings.HasSuffix(nameOrPath, ".json") {
		return nameOrPath, nil
	}
	tried := []string{}
	for _, dir := range []string{keysDir(home), keysDir(filepath.Join(home, "localnet"))} {
		p := filepath.Join(dir, nameOrPath+".json")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("key %q not found (looked at %s)", nameOrPath, strings.Join(tried, ", "))
}

type passphraseFlag struct{ file string }

func (p *passphraseFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.file, "passphrase-file", "", "file holding the key passphrase (else JINLIAN_PASSPHRASE, else a prompt)")
}

func (p *passphraseFlag) read(prompt string) ([]byte, error) {
	return gmcrypto.ReadPassphrase(p.file, prompt)
}

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage SM2 keys (encrypted with SM4-GCM at rest)"}

	var org string
	var pass passphraseFlag
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create an SM2 key, encrypted under a passphrase",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := permission.ValidateOrgID(org); err != nil {
				return fmt.Errorf("--org: %w", err)
			}
			name := args[0]
			if strings.ContainsAny(name, `/\ `) || name == "" {
				return fmt.Errorf("key name %q: must not contain '/', '\\' or spaces", name)
			}
			pw, err := pass.read("Passphrase for new key " + name + ": ")
			if err != nil {
				return err
			}
			key, err := gmcrypto.GenerateKey()
			if err != nil {
				return err
			}
			path := filepath.Join(keysDir(g.home), name+".json")
			if err := os.MkdirAll(keysDir(g.home), 0o700); err != nil {
				return err
			}
			if err := gmcrypto.SaveKey(path, gmcrypto.KeyInfo{Name: name, Org: org}, key, pw); err != nil {
				return err
			}
			info, err := gmcrypto.ReadKeyInfo(path)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, keyView(info, path), func(w io.Writer) {
				fmt.Fprintf(w, "created key %s (org %s)\naddress: %s\nfile:    %s\n", name, org, info.Address, path)
			})
		},
	}
	add.Flags().StringVar(&org, "org", "", "organisation (MSP id) the key belongs to")
	_ = add.MarkFlagRequired("org")
	pass.add(add)

	list := &cobra.Command{
		Use:   "list",
		Short: "List keys in <home>/keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := os.ReadDir(keysDir(g.home))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			views := []keyJSON{}
			for _, e := range entries {
				if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
					continue
				}
				p := filepath.Join(keysDir(g.home), e.Name())
				info, err := gmcrypto.ReadKeyInfo(p)
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				views = append(views, keyView(info, p))
			}
			sort.Slice(views, func(i, j int) bool { return views[i].Name < views[j].Name })
			return emit(cmd.OutOrStdout(), g, views, func(w io.Writer) {
				if len(views) == 0 {
					fmt.Fprintf(w, "no keys in %s\n", keysDir(g.home))
				}
				for _, v := range views {
					fmt.Fprintf(w, "%-16s %-10s %s\n", v.Name, v.Org, v.Address)
				}
			})
		},
	}

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a key's organisation, address and public key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := keyPath(g.home, args[0])
			if err != nil {
				return err
			}
			info, err := gmcrypto.ReadKeyInfo(p)
			if err != nil {
				return err
			}
			v := keyView(info, p)
			return emit(cmd.OutOrStdout(), g, v, func(w io.Writer) {
				fmt.Fprintf(w, "name:    %s\norg:     %s\naddress: %s\nfile:    %s\n%s", v.Name, v.Org, v.Address, v.File, v.PublicKey)
			})
		},
	}
	cmd.AddCommand(add, list, show)
	return cmd
}

type keyJSON struct {
	Name      string `json:"name"`
	Org       string `json:"org"`
	Address   string `json:"address"`
	PublicKey string `json:"public_key"`
	File      string `json:"file"`
}

func keyView(info gmcrypto.KeyInfo, path string) keyJSON {
	return keyJSON{Name: info.Name, Org: info.Org, Address: info.Address, PublicKey: info.PublicKey, File: path}
}
