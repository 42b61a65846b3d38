// Package codec is the binary record format of dsgen stores.
//
// STUB: the full encoder and decoder are being written; only the types the
// storage engine compiles against are here.
package codec

// Encoder appends one record to a byte slice.
type Encoder struct {
	buf []byte
}

// Reset starts a new record that is appended to buf.
func (e *Encoder) Reset(buf []byte) { e.buf = buf }

// Bytes returns the encoded record.
func (e *Encoder) Bytes() []byte { return e.buf }

// Decoder reads the fields of one record.
type Decoder struct {
	data []byte
}

// Reset starts decoding data.
func (d *Decoder) Reset(data []byte) { d.data = data }
