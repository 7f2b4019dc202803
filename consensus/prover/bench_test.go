package prover

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// BenchmarkProve measures proving a checkpoint signed by 3/4 of n
// validators with a full circuit of n slots. Setup (gnark's random
// single-party setup, not timed) takes minutes at 64. It reports the peak
// live heap while proving. Run one size at a time on a small machine:
//
//	go test -run x -bench 'Prove/validators=16' -benchtime 3x ./consensus/prover
func BenchmarkProve(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			p := benchProver(b, n)
			powers := make([]int64, n)
			signers := make([]int, 0, n)
			for i := range powers {
				powers[i] = 10
				if i%4 != 3 {
					signers = append(signers, i)
				}
			}
			keys, vals := testValidators(b, 1, powers...)
			cp := testCheckpoint(b, vals, n)
			sigs := testSign(b, keys, cp, signers...)
			runtime.GC()
			peak := watchHeap()
			b.ResetTimer()
			for range b.N {
				if _, err := p.Prove(cp, vals, sigs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(p.Constraints()), "constraints")
		})
	}
}

var benchProvers = map[int]*EdDSAGroth16{}

// benchProver compiles and sets up once per size (the benchmark function
// runs more than once).
func benchProver(b *testing.B, n int) *EdDSAGroth16 {
	if p, ok := benchProvers[n]; ok {
		return p
	}
	p, err := NewEdDSAGroth16(n)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	pk, vk, err := groth16.Setup(p.ccs)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d validators: %d constraints, setup %v", n, p.Constraints(), time.Since(t0).Round(time.Millisecond))
	p.UseKeys(pk, vk)
	benchProvers[n] = p
	return p
}

// watchHeap samples the live heap every 5 ms until the returned function is
// called, which returns the peak.
func watchHeap() func() uint64 {
	var (
		mu   sync.Mutex
		peak uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak
	}
}

// BenchmarkCommitValidators is the native commitment the chain computes at
// every validator-set change.
func BenchmarkCommitValidators(b *testing.B) {
	powers := make([]int64, 64)
	for i := range powers {
		powers[i] = 10
	}
	_, vals := testValidators(b, 1, powers...)
	b.ResetTimer()
	for range b.N {
		if _, err := checkpoint.CommitValidators(vals, 64); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignVerify is one validator's cost per checkpoint (sign) and the
// chain's per vote extension (verify).
func BenchmarkSignVerify(b *testing.B) {
	keys, vals := testValidators(b, 1, 10)
	d := testCheckpoint(b, vals, 4).Digest()
	b.Run("sign", func(b *testing.B) {
		for range b.N {
			if _, err := keys[0].Sign(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	sig, _ := keys[0].Sign(d)
	b.Run("verify", func(b *testing.B) {
		for range b.N {
			if err := checkpoint.VerifySignature(vals[0].Key, d, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
