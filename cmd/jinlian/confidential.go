package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
)

func addConfidentialFlags(c *cobra.Command, f *txFlags) {
	c.Flags().StringVar(&f.confidential, "confidential", "", "file to attach encrypted (SM4-GCM), readable only by sender, recipient and the registered regulators")
	c.Flags().StringVar(&f.toKey, "to-key", "", "recipient's SM2 public key (hex, or a key file or name), when it has never signed a transaction (else looked up with the /pubkey query)")
}

// sealConfidential encrypts --confidential FILE for the sender, the
// recipient (its key from --to-key or the chain's key directory) and every
// registered escrow key, and attaches it to the transfer.
func sealConfidential(ctx context.Context, g *globals, f *txFlags, msg *txpb.Message) error {
	t, ok := msg.Body.(*txpb.Message_Transfer)
	if !ok || f.confidential == "" {
		return nil
	}
	plain, err := os.ReadFile(f.confidential)
	if err != nil {
		return fmt.Errorf("--confidential: %w", err)
	}
	path, err := keyPath(g.home, f.from)
	if err != nil {
		return err
	}
	info, err := gmcrypto.ReadKeyInfo(path)
	if err != nil {
		return err
	}
	sender, err := gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
	if err != nil {
		return fmt.Errorf("key %s: %w", path, err)
	}
	toAddr, _ := gmcrypto.AddressFromBytes(t.Transfer.To)
	keyHex := f.toKey
	if keyHex == "" {
		if err := abciQuery(ctx, g.node, app.QueryPublicKey, []byte(toAddr.String()), 0, &keyHex); err != nil {
			return fmt.Errorf("recipient's public key: %w (pass --to-key)", err)
		}
	}
	recipient, err := parsePublicKeyArg(g.home, keyHex)
	if err != nil {
		return fmt.Errorf("recipient's public key: %w", err)
	}
	if recipient.Address() != toAddr {
		return fmt.Errorf("recipient's public key is of %s, not of --to %s", recipient.Address(), toAddr)
	}
	var escrow []permission.EscrowKey
	if err := abciQuery(ctx, g.node, app.QueryEscrowKeys, nil, 0, &escrow); err != nil {
		return fmt.Errorf("escrow keys: %w", err)
	}
	readers := []*gmcrypto.PublicKey{sender, recipient}
	for _, e := range escrow {
		b, err := hex.DecodeString(e.PublicKey)
		if err != nil {
			return fmt.Errorf("escrow key of %s: %w", e.Regulator, err)
		}
		k, err := gmcrypto.ParsePublicKey(b)
		if err != nil {
			return fmt.Errorf("escrow key of %s: %w", e.Regulator, err)
		}
		readers = append(readers, k)
	}
	c, err := wire.SealConfidential(plain, readers)
	if err != nil {
		return err
	}
	t.Transfer.Confidential = c
	return nil
}

// parsePublicKeyArg reads a public key given as hex, or as a key file or
// key name whose public half is used.
func parsePublicKeyArg(home, v string) (*gmcrypto.PublicKey, error) {
	if kb, err := hex.DecodeString(strings.TrimPrefix(v, "0x")); err == nil {
		return gmcrypto.ParsePublicKey(kb)
	}
	path, err := keyPath(home, v)
	if err != nil {
		return nil, fmt.Errorf("%q is neither hex nor a key: %w", v, err)
	}
	info, err := gmcrypto.ReadKeyInfo(path)
	if err != nil {
		return nil, err
	}
	return gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
}

func newTxDecryptCmd(g *globals) *cobra.Command {
	var from, out string
	var pass passphraseFlag
	c := &cobra.Command{
		Use:   "decrypt TXID",
		Short: "Decrypt a committed transfer's confidential payload with your key (sender, recipient or regulator only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.ToLower(args[0])
			var loc app.TxLocation
			if err := abciQuery(cmd.Context(), g.node, app.QueryTx, []byte(id), 0, &loc); err != nil {
				return err
			}
			cl, err := dial(g.node)
			if err != nil {
				return err
			}
			b, err := cl.Block(cmd.Context(), &loc.Height)
			if err != nil {
				return fmt.Errorf("block %d: %w", loc.Height, err)
			}
			var raw []byte
			for _, tx := range b.Block.Txs {
				if d, err := wire.DecodeTx(tx); err == nil && d.ID == id {
					raw = tx
				}
			}
			if raw == nil {
				return fmt.Errorf("tx %s is not in block %d", id, loc.Height)
			}
			path, err := keyPath(g.home, from)
			if err != nil {
				return err
			}
			pw, err := pass.read("Passphrase for " + path + ": ")
			if err != nil {
				return err
			}
			_, key, err := gmcrypto.LoadKey(path, pw)
			if err != nil {
				return fmt.Errorf("key %s: %w", path, err)
			}
			pt, err := regulator.DecryptTx(raw, key)
			if err != nil {
				return err
			}
			if out != "" {
				return os.WriteFile(out, pt, 0o600)
			}
			res := map[string]any{"tx_id": id, "height": loc.Height, "reader": key.Public().Address().String(), "plaintext_hex": hex.EncodeToString(pt)}
			if utf8.Valid(pt) {
				res["plaintext"] = string(pt)
			}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				if utf8.Valid(pt) {
					fmt.Fprint(w, strings.TrimSuffix(string(pt), "\n")+"\n")
				} else {
					fmt.Fprintln(w, hex.EncodeToString(pt))
				}
			})
		},
	}
	c.Flags().StringVar(&from, "from", "", "your key: a name in <home>/keys (or <home>/localnet/keys) or a key file")
	c.Flags().StringVar(&out, "out", "", "write the plaintext to this file")
	_ = c.MarkFlagRequired("from")
	pass.add(c)
	return c
}
