package realtime

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/dsgen/dsgen/runtime/appsync"
)

var kaFrame = []byte(`{"type":"ka"}`)

// offeredProtocols lists the client's sub-protocols in order; the header
// may be repeated and each value is a comma-separated list.
func offeredProtocols(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// connHeaders collects the connection's auth headers: the request's own
// headers, overlaid by the header= query parameter, overlaid by a header-
// sub-protocol. Keys are lower-cased so backends look up one spelling.
func connHeaders(r *http.Request, protos []string) (map[string]string, error) {
	h := make(map[string]string, len(r.Header)+4)
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "sec-websocket-") {
			continue // handshake plumbing; the auth blob is decoded below
		}
		h[k] = strings.Join(vs, ", ")
	}
	if q := r.URL.Query().Get("header"); q != "" {
		m, err := appsync.DecodeAuthHeaders(q)
		if err != nil {
			return nil, fmt.Errorf("realtime: header query parameter: %w", err)
		}
		merge(h, m)
	}
	for _, p := range protos {
		if enc, ok := strings.CutPrefix(p, appsync.HeaderProtocolPrefix); ok {
			m, err := appsync.DecodeAuthHeaders(enc)
			if err != nil {
				return nil, fmt.Errorf("realtime: %q sub-protocol: %w", appsync.HeaderProtocolPrefix+"…", err)
			}
			merge(h, m)
		}
	}
	return h, nil
}

func merge(dst, src map[string]string) {
	for k, v := range src {
		dst[strings.ToLower(k)] = v
	}
}

// idFrame encodes a payload-less frame such as start_ack or complete.
func idFrame(typ, id string) []byte {
	return mustJSON(appsync.Message{Type: typ, ID: id})
}

// errorFrame encodes an error frame; id may be empty for errors that
// belong to no subscription.
func errorFrame(typ, id string, errs ...*appsync.Error) []byte {
	return mustJSON(appsync.Message{Type: typ, ID: id, Payload: mustJSON(appsync.ErrorPayload{Errors: errs})})
}

// dataFrame appends {"type":"data","id":<id>,"payload":<payload>} to buf.
// idJSON is the id already JSON-encoded; payload is trusted to be JSON.
func dataFrame(buf []byte, idJSON, payload []byte) []byte {
	buf = append(buf, `{"type":"data","id":`...)
	buf = append(buf, idJSON...)
	buf = append(buf, `,"payload":`...)
	buf = append(buf, payload...)
	return append(buf, '}')
}

// renderErrorPayload is the data payload sent when Render fails.
func renderErrorPayload(e *appsync.Error) []byte {
	return mustJSON(struct {
		Data   any              `json:"data"`
		Errors []*appsync.Error `json:"errors"`
	}{nil, []*appsync.Error{e}})
}

// decodeStart checks a start message's payload and decodes the request in
// its data string, which it returns too (an IAM signature covers it).
func decodeStart(raw json.RawMessage) (appsync.Request, map[string]string, string, error) {
	var req appsync.Request
	if len(raw) == 0 || string(raw) == "null" {
		return req, nil, "", fmt.Errorf("start message has no payload")
	}
	var p struct {
		Data       json.RawMessage         `json:"data"`
		Extensions appsync.StartExtensions `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return req, nil, "", fmt.Errorf("start payload: %w", err)
	}
	var data string
	if len(p.Data) == 0 || json.Unmarshal(p.Data, &data) != nil {
		return req, nil, "", fmt.Errorf("start payload.data must be a JSON string holding {\"query\":…,\"variables\":…}")
	}
	if err := json.Unmarshal([]byte(data), &req); err != nil {
		return req, nil, "", fmt.Errorf("start payload.data is not a GraphQL request: %w", err)
	}
	if strings.TrimSpace(req.Query) == "" {
		return req, nil, "", fmt.Errorf("start payload.data has no query")
	}
	var auth map[string]string
	if len(p.Extensions.Authorization) > 0 {
		auth = make(map[string]string, len(p.Extensions.Authorization))
		merge(auth, p.Extensions.Authorization)
	}
	return req, auth, data, nil
}
