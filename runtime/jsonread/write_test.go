package jsonread

import (
	"bytes"
	"encoding/json"
	"testing"
)

var stringCases = []string{
	"", "plain", `q"uote\back/slash`, "ctl \x00\x01\b\f\n\r\t\x1f\x7f", "<a href=\"x\">&amp;</a>",
	"ünïcödé ✓ 😀", "line\u2028sep\u2029par", "bad \xff\xfe utf8 \xe2\x82", "\xed\xa0\x80 surrogate bytes",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringCases {
		checkString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(checkString)
}

// checkString checks both forms against encoding/json's output.
func checkString(t *testing.T, s string) {
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s, true); !bytes.Equal(got, want) {
		t.Errorf("AppendString(%q, html) = %s, json.Marshal gives %s", s, got, want)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if got, want := AppendString(nil, s, false), bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
		t.Errorf("AppendString(%q) = %s, an Encoder without HTML escaping gives %s", s, got, want)
	}
}
