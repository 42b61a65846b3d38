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
	}
}
