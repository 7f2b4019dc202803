package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// newCheckpointRegisterCmd is `jinlian checkpoint register`: a validator's
// operator registers (or replaces) its checkpoint key on chain.
func newCheckpointRegisterCmd(g *globals) *cobra.Command {
	f := &txFlags{}
	var newKey bool
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register the node's checkpoint key on chain (a validator added after genesis, or a key rotation)",
		Long: `Reads the validator address, the SM2 node key and the checkpoint key from
the node home (--home; the checkpoint key is created if the home has none,
SM4-encrypted under the node key's passphrase), signs the registration with
both keys (SM2 over chain id, validator address and checkpoint key; EdDSA
proof of possession) and sends it on the system channel, signed by --from,
which must be an admin of the validator's organisation. The chain verifies
it as it verifies the genesis checkpoint keys; the new key joins the set
that the checkpoint of that block hands over to, so it signs from the
following checkpoint on.

--new-key rotates: it makes a new checkpoint key, registers it, and only
then replaces <home>/config/checkpoint_key.json (the old file is kept as
checkpoint_key.json.replaced-<time>). The running node picks the new file
up by itself: it signs the hand-over checkpoint with the old key and the
following ones with the new key, no restart needed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			valAddr, err := consensus.ValidatorAddress(g.home)
			if err != nil {
				return fmt.Errorf("--home %s: validator address: %w", g.home, err)
			}
			pw, err := f.pass.read("Passphrase for node key " + node.SM2KeyFile(g.home) + ": ")
			if err != nil {
				return err
			}
			_, nodeKey, err := gmcrypto.LoadKey(node.SM2KeyFile(g.home), pw)
			if err != nil {
				return fmt.Errorf("SM2 node key: %w", err)
			}
			keyFile := checkpoint.KeyFile(g.home)
			var key *checkpoint.CheckpointKey
			if newKey {
				// On disk before it is registered; an interrupted rotation
				// resumes with the same key.
				if key, err = checkpoint.EnsureKey(keyFile+".new", nil, pw); err != nil {
					return fmt.Errorf("new checkpoint key: %w", err)
				}
			} else if key, err = checkpoint.EnsureKey(keyFile, nil, pw); err != nil {
				return fmt.Errorf("checkpoint key: %w", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			c, err := dial(g.node)
			if err != nil {
				return err
			}
			chain, err := chainID(ctx, c, g.node)
			if err != nil {
				return err
			}
			reg, err := checkpoint.Register(chain, valAddr, key, nodeKey)
			if err != nil {
				return err
			}
			msg := &txpb.Message{Body: &txpb.Message_RegisterCheckpointKey{RegisterCheckpointKey: &txpb.RegisterCheckpointKey{
				Validator: reg.Validator, CheckpointKey: reg.CheckpointKey, Possession: reg.Possession, Sm2Signature: reg.SM2Signature,
			}}}
			f.ledger = permission.SystemLedger
			if err := sendTx(cmd, g, f, msg); err != nil {
				return err
			}
			if newKey {
				return replaceCheckpointKey(keyFile)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.from, "from", "", "signing key of an admin of the validator's organisation (name or key file)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for commit")
	cmd.Flags().BoolVar(&newKey, "new-key", false, "rotate: make and register a new checkpoint key, then replace the node's key file")
	_ = cmd.MarkFlagRequired("from")
	f.pass.add(cmd)
	return cmd
}

// replaceCheckpointKey installs the newly registered <file>.new, keeping
// the old file as <file>.replaced-<unix time>.
func replaceCheckpointKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		old := fmt.Sprintf("%s.replaced-%d", path, time.Now().Unix())
		if err := os.Rename(path, old); err != nil {
			return fmt.Errorf("the new key is registered but %s could not be moved aside: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(path+".new", path); err != nil {
		return fmt.Errorf("the new key is registered but could not be installed (%s.new): %w", path, err)
	}
	return nil
}

// newCheckpointEncryptKeyCmd is `jinlian checkpoint encrypt-key`: converts
// a checkpoint key file of an earlier version (plain) to the encrypted one.
func newCheckpointEncryptKeyCmd(g *globals) *cobra.Command {
	var pass passphraseFlag
	cmd := &cobra.Command{
		Use:   "encrypt-key",
		Short: "Encrypt a node's plain checkpoint key file (earlier versions) with SM4 under the node key's passphrase",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := checkpoint.KeyFile(g.home)
			plain, err := checkpoint.IsPlainKeyFile(path)
			if err != nil {
				return fmt.Errorf("checkpoint key: %w", err)
			}
			if !plain {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is already encrypted\n", path)
				return nil
			}
			pw, err := pass.read("Passphrase for node key " + node.SM2KeyFile(g.home) + ": ")
			if err != nil {
				return err
			}
			// The node opens both keys with one passphrase: check it first.
			if _, _, err := gmcrypto.LoadKey(node.SM2KeyFile(g.home), pw); err != nil {
				return fmt.Errorf("the checkpoint key is encrypted under the node key's passphrase: %w", err)
			}
			if err := checkpoint.EncryptKeyFile(path, pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "encrypted %s\n", path)
			return nil
		},
	}
	pass.add(cmd)
	return cmd
}
