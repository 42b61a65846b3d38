package appsync_test

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestReadBody reads bodies shorter, as long as and longer than declared.
func TestReadBody(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	for _, declared := range []int64{-1, 0, 1, 9999, 10000, 10001, 20000} {
		got, err := appsync.ReadBody(iotest.OneByteReader(bytes.NewReader(body)), declared, 1<<20)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("declared %d: %d bytes, %v; want the %d bytes", declared, len(got), err, len(body))
		}
	}
	if _, err := appsync.ReadBody(iotest.ErrReader(io.ErrUnexpectedEOF), 10, 100); err != io.ErrUnexpectedEOF {
		t.Errorf("a failing read = %v", err)
	}
}
