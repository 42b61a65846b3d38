package client

import (
	"encoding/json"

	"github.com/dsgen/dsgen/runtime/jsonread"
)

// fastSyncPage decodes a sync query response that has data and no errors
// with jsonread (keys interned: a page of 1,000 Posts decodes about 3×
// faster than with encoding/json, with half the allocations,
// BenchmarkDecodeSyncPage). ok is false when the body is anything else
// (errors, unexpected shapes, input jsonread leaves): Sync then decodes it
// with encoding/json, which handles every case and words the errors.
func fastSyncPage(body []byte, field string) (items []map[string]any, nextToken *string, startedAt json.Number, ok bool) {
	// Every record of a page repeats the same field names.
	v, ok := jsonread.Parse(body, jsonread.Options{Keys: make(map[string]string), MaxKeys: 1024})
	if !ok {
		return nil, nil, "", false
	}
	root, _ := v.(map[string]any)
	if len(root) != 1 {
		return nil, nil, "", false // errors, extensions, or no data
	}
	data, _ := root["data"].(map[string]any)
	conn, _ := data[field].(map[string]any)
	raw, _ := conn["items"].([]any)
	if raw == nil || len(conn) != 3 {
		return nil, nil, "", false
	}
	switch t := conn["nextToken"].(type) {
	case string:
		nextToken = &t
	case nil:
	default:
		return nil, nil, "", false
	}
	if startedAt, ok = conn["startedAt"].(json.Number); !ok {
		return nil, nil, "", false
	}
	items = make([]map[string]any, len(raw))
	for i, it := range raw {
		if it == nil {
			continue
		}
		if items[i], ok = it.(map[string]any); !ok {
			return nil, nil, "", false
		}
	}
	return items, nextToken, startedAt, true
}
