//go:build unix

package ledger

import "syscall"

// newChunk maps nodeChunkSize bytes of anonymous memory outside the Go
// heap; freeChunk unmaps them. Where mapping fails it falls back to the
// heap.
func newChunk() []byte {
	b, err := syscall.Mmap(-1, 0, nodeChunkSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, 0, nodeChunkSize+1) // the odd capacity marks a heap chunk
	}
	return b[:0]
}

func freeChunk(b []byte) {
	if cap(b) == nodeChunkSize {
		_ = syscall.Munmap(b[:cap(b)])
	}
}
