package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// Collector gives the worker what the chain collected for a checkpoint:
// the checkpoint, its validator set in slot order and each validator's
// signature (nil where none). ok is false while epoch is not complete.
type Collector interface {
	Collected(epoch uint64) (cp checkpoint.Checkpoint, vals []checkpoint.Validator, sigs [][]byte, ok bool, err error)
}

// Worker proves checkpoints in the background on a designated node, off
// the consensus path: it reads collected signatures, proves every complete
// epoch after the last one stored, saves the proof, and then lets the
// relayer submit. It is restart-safe: proofs are on disk before anything
// is relayed, an epoch is proved once, and relaying is idempotent.
type Worker struct {
	Prover    Prover
	Store     *Store
	Collector Collector
	// First is the first epoch to prove when the store is empty (1).
	First uint64
	// Relay, if set, submits what the store holds (relay.Relayer.Sync).
	Relay  func(context.Context) error
	Poll   time.Duration // between rounds (5 s)
	Logger *slog.Logger

	kick chan struct{}
}

// Notify wakes the worker (a new checkpoint's signatures were committed).
func (w *Worker) Notify() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	if w.kick == nil {
		w.kick = make(chan struct{}, 1)
	}
	if w.Poll <= 0 {
		w.Poll = 5 * time.Second
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	if w.First == 0 {
		w.First = 1
	}
}

// Run works until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	for {
		if _, err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Warn("checkpoint worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.kick:
		case <-time.After(w.Poll):
		}
	}
}

// Step proves every complete epoch after the last stored one, relaying
// after each proof, and returns the epochs it proved. Relaying as it goes
// matters when the chain defines epochs faster than they are proved (a
// backlog after downtime, a loaded machine): proving everything first
// would never reach the relay. After a relay error it goes on proving and
// leaves relaying to the next step.
func (w *Worker) Step(ctx context.Context) ([]uint64, error) {
	w.init()
	next := w.First
	if last, ok, err := w.Store.Latest(); err != nil {
		return nil, err
	} else if ok && last >= next {
		next = last + 1
	}
	var proved []uint64
	var errs []error
	relayFailed := false
	relay := func() {
		if w.Relay == nil || relayFailed {
			return
		}
		if err := w.Relay(ctx); err != nil {
			errs = append(errs, fmt.Errorf("relay: %w", err))
			relayFailed = true
		}
	}
	for ctx.Err() == nil {
		cp, vals, sigs, ok, err := w.Collector.Collected(next)
		if err != nil {
			errs = append(errs, fmt.Errorf("collected signatures of checkpoint %d: %w", next, err))
			break
		}
		if !ok {
			break
		}
		rec, err := w.prove(cp, vals, sigs)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if err := w.Store.Save(rec); err != nil {
			errs = append(errs, err)
			break
		}
		w.Logger.Info("proved checkpoint", "epoch", cp.Epoch, "height", cp.Height, "signers", rec.Signers, "validators", rec.Validators, "ms", rec.ProveMillis)
		proved = append(proved, next)
		next++
		relay()
	}
	if len(proved) == 0 {
		relay() // proofs stored earlier and not yet anchored
	}
	return proved, errors.Join(errs...)
}

func (w *Worker) prove(cp checkpoint.Checkpoint, vals []checkpoint.Validator, sigs [][]byte) (Record, error) {
	t0 := time.Now()
	proof, err := w.Prover.Prove(cp, vals, sigs)
	if err != nil {
		return Record{}, fmt.Errorf("prove checkpoint %d: %w", cp.Epoch, err)
	}
	n := 0
	for _, s := range sigs {
		if s != nil {
			n++
		}
	}
	return Record{
		Checkpoint: cp, Hash: cp.Hash(), Digest: cp.Digest(), CircuitID: w.Prover.CircuitID(),
		Proof: checkpoint.HexBytes(proof), Signers: n, Validators: len(vals),
		ProvedAt: t0.UTC(), ProveMillis: time.Since(t0).Milliseconds(),
	}, nil
}
