package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/contracts/ethereum/bindings"
)

// Backend is what the relayer needs of an Ethereum endpoint: an
// ethclient.Client or the simulated backend's client.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
}

// Config tunes a Relayer. Zero values take the defaults.
type Config struct {
	// Attempts per submission before giving up on transient errors (5).
	Attempts int
	// Backoff is the first wait between attempts (1 s); it doubles up to
	// MaxBackoff (30 s).
	Backoff, MaxBackoff time.Duration
	// Mine, if set, is called after each transaction is sent: the simulated
	// backend's Commit. Real chains mine on their own.
	Mine func()
	// Logger receives one line per submission (slog.Default()).
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Attempts <= 0 {
		c.Attempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Mine == nil {
		c.Mine = func() {}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Relayer submits checkpoints to one anchor contract.
type Relayer struct {
	backend Backend
	addr    common.Address
	anchor  *bindings.CheckpointAnchor
	auth    *bind.TransactOpts
	cfg     Config
}

// New binds a relayer to the anchor at addr; auth signs its transactions.
func New(backend Backend, addr common.Address, auth *bind.TransactOpts, cfg Config) (*Relayer, error) {
	cfg.defaults()
	a, err := bindings.NewCheckpointAnchor(addr, backend)
	if err != nil {
		return nil, err
	}
	return &Relayer{backend: backend, addr: addr, anchor: a, auth: auth, cfg: cfg}, nil
}

// Address is the anchor contract's address.
func (r *Relayer) Address() common.Address { return r.addr }

// Result is the outcome of one submission.
type Result struct {
	Epoch   uint64      `json:"epoch"`
	Skipped bool        `json:"skipped,omitempty"` // already anchored
	TxHash  common.Hash `json:"tx_hash,omitempty"`
	Block   uint64      `json:"block,omitempty"`
	GasUsed uint64      `json:"gas_used,omitempty"`
}

// Errors a caller must tell apart.
var (
	// ErrConflict is an epoch anchored with another checkpoint hash than
	// the one submitted: the anchor and this node disagree on history.
	ErrConflict = errors.New("anchor holds another checkpoint for this epoch")
	// ErrReverted is a submission the contract refused.
	ErrReverted = errors.New("anchor refused the checkpoint")
)

// ErrGap is a checkpoint that cannot be anchored yet: the anchor's latest
// epoch is Anchored, and epochs must be submitted in order.
type ErrGap struct{ Anchored, Epoch uint64 }

func (e ErrGap) Error() string {
	return fmt.Sprintf("anchor is at epoch %d, checkpoint %d must wait for %d", e.Anchored, e.Epoch, e.Anchored+1)
}

// Submit anchors cp with its proof, unless the anchor already holds it.
func (r *Relayer) Submit(ctx context.Context, cp checkpoint.Checkpoint, proof prover.Proof) (Result, error) {
	res := Result{Epoch: cp.Epoch}
	wait := r.cfg.Backoff
	var last error
	for attempt := 1; attempt <= r.cfg.Attempts; attempt++ {
		if attempt > 1 {
			r.cfg.Logger.Warn("retrying checkpoint submission", "epoch", cp.Epoch, "attempt", attempt, "wait", wait, "err", last)
			select {
			case <-ctx.Done():
				return res, errors.Join(ctx.Err(), last)
			case <-time.After(wait):
			}
			wait = min(2*wait, r.cfg.MaxBackoff)
		}
		done, err := r.anchored(ctx, cp)
		if err != nil {
			if errors.Is(err, ErrConflict) || errors.As(err, new(ErrGap)) {
				return res, err
			}
			last = err
			continue
		}
		if done {
			res.Skipped = true
			return res, nil
		}
		res, err = r.send(ctx, cp, proof)
		if err == nil || errors.Is(err, ErrReverted) {
			if errors.Is(err, ErrReverted) {
				// Another relayer may have anchored it meanwhile.
				if done, aerr := r.anchored(ctx, cp); aerr == nil && done {
					return Result{Epoch: cp.Epoch, Skipped: true}, nil
				}
			}
			return res, err
		}
		last = err
	}
	return res, fmt.Errorf("submit checkpoint %d after %d attempts: %w", cp.Epoch, r.cfg.Attempts, last)
}

// anchored reports whether cp's epoch is anchored (and with cp's hash).
func (r *Relayer) anchored(ctx context.Context, cp checkpoint.Checkpoint) (bool, error) {
	opts := &bind.CallOpts{Context: ctx}
	latest, err := r.anchor.LatestEpoch(opts)
	if err != nil {
		return false, fmt.Errorf("read anchor's latest epoch: %w", err)
	}
	if cp.Epoch > latest+1 {
		return false, ErrGap{Anchored: latest, Epoch: cp.Epoch}
	}
	if cp.Epoch > latest {
		return false, nil
	}
	h, err := r.anchor.CheckpointHash(opts, cp.Epoch)
	if err != nil {
		return false, fmt.Errorf("read anchored hash of epoch %d: %w", cp.Epoch, err)
	}
	if want := cp.Hash(); h != want {
		return false, fmt.Errorf("%w: epoch %d anchored as %s, this node has %s", ErrConflict, cp.Epoch, checkpoint.Hash32(h), want)
	}
	return true, nil
}

func (r *Relayer) send(ctx context.Context, cp checkpoint.Checkpoint, proof prover.Proof) (Result, error) {
	res := Result{Epoch: cp.Epoch}
	auth := *r.auth
	auth.Context = ctx
	tx, err := r.anchor.SubmitCheckpoint(&auth, Binding(cp), proof)
	if err != nil {
		if reason, ok := RevertReason(err); ok {
			return res, fmt.Errorf("%w: checkpoint %d: %s", ErrReverted, cp.Epoch, reason)
		}
		return res, fmt.Errorf("send checkpoint %d: %w", cp.Epoch, err)
	}
	r.cfg.Mine()
	rcpt, err := bind.WaitMined(ctx, r.backend, tx)
	if err != nil {
		return res, fmt.Errorf("wait for checkpoint %d transaction %s: %w", cp.Epoch, tx.Hash(), err)
	}
	res.TxHash, res.Block, res.GasUsed = tx.Hash(), rcpt.BlockNumber.Uint64(), rcpt.GasUsed
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return res, fmt.Errorf("%w: checkpoint %d: transaction %s reverted in block %d", ErrReverted, cp.Epoch, tx.Hash(), res.Block)
	}
	r.cfg.Logger.Info("anchored checkpoint", "epoch", cp.Epoch, "height", cp.Height, "tx", tx.Hash(), "block", res.Block, "gas", res.GasUsed)
	return res, nil
}

// Source hands the relayer proven checkpoints by epoch; ok is false when
// epoch has no proof yet.
type Source interface {
	ProvenCheckpoint(epoch uint64) (cp checkpoint.Checkpoint, proof prover.Proof, ok bool, err error)
}

// Sync submits every proven checkpoint after the anchor's latest epoch, in
// order, until the source has no more.
func (r *Relayer) Sync(ctx context.Context, src Source) ([]Result, error) {
	st, err := r.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []Result
	for e := st.Epoch + 1; ; e++ {
		cp, proof, ok, err := src.ProvenCheckpoint(e)
		if err != nil || !ok {
			return out, err
		}
		res, err := r.Submit(ctx, cp, proof)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
}

// Status is the anchor's latest checkpoint.
type Status struct {
	Address        common.Address    `json:"address"`
	Epoch          uint64            `json:"epoch"`
	Height         uint64            `json:"height"`
	AppHash        checkpoint.Hash32 `json:"app_hash"`
	CheckpointHash checkpoint.Hash32 `json:"checkpoint_hash"`
	ValidatorSet   checkpoint.Hash32 `json:"validator_set"`
}

// Status reads the anchor's latest checkpoint.
func (r *Relayer) Status(ctx context.Context) (Status, error) {
	l, err := r.anchor.Latest(&bind.CallOpts{Context: ctx})
	if err != nil {
		return Status{}, fmt.Errorf("read anchor %s: %w", r.addr, err)
	}
	var set checkpoint.Hash32
	l.ValidatorSet.FillBytes(set[:])
	return Status{Address: r.addr, Epoch: l.Epoch, Height: l.Height, AppHash: l.AppHash, CheckpointHash: l.CheckpointHash, ValidatorSet: set}, nil
}

// Anchored reads what the anchor holds for epoch (zero hashes if nothing).
func (r *Relayer) Anchored(ctx context.Context, epoch uint64) (appHash, cpHash checkpoint.Hash32, err error) {
	opts := &bind.CallOpts{Context: ctx}
	if appHash, err = r.anchor.AppHash(opts, epoch); err != nil {
		return
	}
	cpHash, err = r.anchor.CheckpointHash(opts, epoch)
	return
}

// Binding converts a checkpoint to the contract's struct.
func Binding(cp checkpoint.Checkpoint) bindings.CheckpointAnchorCheckpoint {
	return bindings.CheckpointAnchorCheckpoint{
		Epoch: cp.Epoch, Height: cp.Height, AppHash: cp.AppHash, PrevHash: cp.PrevHash,
		ValidatorSet:     new(big.Int).SetBytes(cp.ValidatorSet[:]),
		NextValidatorSet: new(big.Int).SetBytes(cp.NextValidatorSet[:]),
		CheckpointHash:   cp.Hash(),
	}
}

// Deploy deploys a Verifier and a CheckpointAnchor that trusts checkpoint
// trusted (usually the chain's epoch-0 checkpoint) and returns the anchor's
// address.
func Deploy(ctx context.Context, backend Backend, auth *bind.TransactOpts, trusted checkpoint.Checkpoint, mine func()) (common.Address, error) {
	if mine == nil {
		mine = func() {}
	}
	a := *auth
	a.Context = ctx
	vAddr, tx, _, err := bindings.DeployVerifier(&a, backend)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy verifier: %w", err)
	}
	mine()
	if _, err := bind.WaitDeployed(ctx, backend, tx); err != nil {
		return common.Address{}, fmt.Errorf("deploy verifier: %w", err)
	}
	addr, tx, _, err := bindings.DeployCheckpointAnchor(&a, backend, vAddr, checkpoint.ChainIDHash(trusted.ChainID), Binding(trusted))
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy anchor: %w", err)
	}
	mine()
	if _, err := bind.WaitDeployed(ctx, backend, tx); err != nil {
		return common.Address{}, fmt.Errorf("deploy anchor: %w", err)
	}
	return addr, nil
}

var contractErrors = func() map[[4]byte]abi.Error {
	m := map[[4]byte]abi.Error{}
	for _, md := range []*bind.MetaData{bindings.CheckpointAnchorMetaData, bindings.VerifierMetaData} {
		a, err := md.GetAbi()
		if err != nil {
			panic(err) // generated ABI is broken
		}
		for _, e := range a.Errors {
			var id [4]byte
			copy(id[:], e.ID[:4])
			m[id] = e
		}
	}
	return m
}()

// RevertReason decodes a revert of the anchor or verifier from an
// endpoint's error: the custom error's name and arguments.
func RevertReason(err error) (string, bool) {
	var de rpc.DataError
	if !errors.As(err, &de) {
		if strings.Contains(err.Error(), "execution reverted") {
			return err.Error(), true
		}
		return "", false
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return de.Error(), true
	}
	data, derr := hexutil.Decode(s)
	if derr != nil || len(data) < 4 {
		return de.Error(), true
	}
	e, ok := contractErrors[[4]byte(data[:4])]
	if !ok {
		return fmt.Sprintf("%s (data %s)", de.Error(), s), true
	}
	args, uerr := e.Inputs.Unpack(data[4:])
	if uerr != nil || len(args) == 0 {
		return e.Name, true
	}
	parts := make([]string, len(args))
	for i, a := range args {
		if b, ok := a.([32]byte); ok {
			parts[i] = checkpoint.Hash32(b).String()
		} else {
			parts[i] = fmt.Sprint(a)
		}
	}
	return fmt.Sprintf("%s(%s)", e.Name, strings.Join(parts, ", ")), true
}

// SyncStore submits what a node's checkpoint store holds (Sync) and records
// each anchoring in the store.
func (r *Relayer) SyncStore(ctx context.Context, s *prover.Store) ([]Result, error) {
	res, err := r.Sync(ctx, s)
	for _, x := range res {
		rec, ok, lerr := s.Load(x.Epoch)
		if lerr != nil || !ok {
			continue
		}
		rec.Anchor = &prover.AnchorInfo{Contract: r.addr.Hex(), GasUsed: x.GasUsed, Block: x.Block}
		if !x.Skipped {
			rec.Anchor.TxHash = x.TxHash.Hex()
		}
		if serr := s.Save(rec); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return res, err
}
