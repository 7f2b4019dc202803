//go:build !unix

package ledger

func newChunk() []byte { return make([]byte, 0, nodeChunkSize) }

func freeChunk([]byte) {}
