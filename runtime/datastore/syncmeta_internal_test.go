package datastore

import (
	"encoding/json"
	"testing"
)

// TestSyncMetaJSONMatchesMarshal checks that the hand-written encoding of
// sync metadata is byte for byte what json.Marshal writes, so stores
// written before and after read the same.
func TestSyncMetaJSONMatchesMarshal(t *testing.T) {
	for _, m := range []SyncMeta{
		{},
		{Version: 1, LastChangedAt: 1714521600000},
		{Version: 7, LastChangedAt: -3, Deleted: true, Seen: 1714521600123},
		{Version: 2, Held: json.RawMessage(`{"id":"a","_version":3}`), HeldVersion: 3},
		{Version: 9223372036854775807, LastChangedAt: -9223372036854775808, Deleted: true, Seen: 1, Held: json.RawMessage(`{}`), HeldVersion: -1},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON(%+v) = %s, want %s", m, got, want)
		}
		if seen, ok := seenOf(want); !ok || seen != m.Seen {
			t.Errorf("seenOf(%s) = %d, %v, want %d", want, seen, ok, m.Seen)
		}
	}
}

// TestSeenOfStepsAside checks that sync metadata of another shape is left
// to encoding/json.
func TestSeenOfStepsAside(t *testing.T) {
	for _, in := range []string{``, `{}`, `{"t":1,"v":2}`, `{"v":1,"t":2,"s":x}`, `{"v":1,"t":2,"x":1}`, `{"v":1,"t":2`, `{"v":1,"t":2,"s":99999999999999999999}`, `{"v":,"t":1}`, `{"v":1,"t":}`} {
		if seen, ok := seenOf([]byte(in)); ok {
			t.Errorf("seenOf(%s) = %d, true; want false", in, seen)
		}
	}
}
