package prover

import (
	"bytes"
	"crypto/rand"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// countingReader counts what other goroutines read.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// readMeanwhile starts n goroutines that read r (nil: crypto/rand's
// Reader, whatever it is at each read) until the returned stop is called,
// as a test's TLS handshakes would beside a setup. It returns once each
// has read.
func readMeanwhile(t *testing.T, n int, r io.Reader) (stop func()) {
	done := make(chan struct{})
	var wg, started sync.WaitGroup
	started.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 32)
			for first := true; ; first = false {
				select {
				case <-done:
					return
				default:
				}
				from := r
				if from == nil {
					from = rand.Reader
				}
				_, err := io.ReadFull(from, b)
				if first {
					started.Done()
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	started.Wait()
	return func() { close(done); wg.Wait() }
}

// The development setup's stream goes to its own goroutine only: another
// goroutine reading crypto/rand meanwhile (a test's TLS handshake) takes
// none of it, so the setup's secrets, and the keys, are every machine's.
func TestDevRandServesItsOwnerOnly(t *testing.T) {
	seed := gmcrypto.SM3([]byte(DevBeacon))
	others := &countingReader{}
	r := &devRand{owner: goroutineID(), stream: gmcrypto.NewSM3Stream(seed), others: others}
	stop := readMeanwhile(t, 4, r)
	// The owner reads while the others do, yielding between its reads.
	got := make([]byte, 5*32)
	for i := 0; i < len(got); i += 32 {
		if _, err := io.ReadFull(r, got[i:i+32]); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	stop()
	want := make([]byte, len(got))
	if _, err := io.ReadFull(gmcrypto.NewSM3Stream(seed), want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the owner's bytes are not the stream's: other goroutines took some")
	}
	if others.n.Load() == 0 {
		t.Fatal("the other goroutines' reads did not reach their own reader")
	}
}

// End to end: a setup with goroutines reading crypto/rand throughout makes
// the same keys as one without them.
func TestDevSetupDeterministicUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("two Groth16 setups")
	}
	ccs, err := Compile(1)
	if err != nil {
		t.Fatal(err)
	}
	_, quiet, err := DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	stop := readMeanwhile(t, 1, nil)
	_, busy, err := DevSetup(ccs)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if _, err := quiet.WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	if _, err := busy.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("a goroutine reading crypto/rand during the development setup changed its keys")
	}
}

// Development keys cached by an earlier setup (another description: before
// devRand a busy process could make wrong ones) are made again, and the
// fresh ones are kept.
func TestDevKeysFromAnEarlierSetupAreMadeAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup")
	}
	dir := t.TempDir()
	p, err := NewEdDSAGroth16(1)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := Compile(1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := CircuitDigest(ccs)
	if err != nil {
		t.Fatal(err)
	}
	// Keys of another setup (a different stream), described as the old
	// development setup described its keys.
	saved := rand.Reader
	rand.Reader = gmcrypto.NewSM3Stream(gmcrypto.SM3([]byte("not the beacon")))
	pk, vk, err := setupBN254(ccs)
	rand.Reader = saved
	if err != nil {
		t.Fatal(err)
	}
	old := KeyInfo{CircuitID: p.CircuitID(), CircuitDigest: d, Constraints: ccs.GetNbConstraints(), Insecure: true,
		Setup: `INSECURE development setup: toxic waste from SM3 counter stream over "` + DevBeacon + `"`}
	if err := SaveKeys(dir, old, pk, vk); err != nil {
		t.Fatal(err)
	}
	info, err := p.Setup(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if info.Setup != devSetupDescription {
		t.Fatalf("Setup kept the earlier keys (%q)", info.Setup)
	}
	_, want, err := DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	_, _, got, err := LoadKeys(dir, p.CircuitID(), ccs, false)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	_, _ = want.WriteTo(&a)
	_, _ = got.WriteTo(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the cache holds other keys than the development setup's")
	}
}
