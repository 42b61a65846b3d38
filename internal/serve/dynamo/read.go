package dynamo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxLine bounds one line of a table export: DynamoDB items are at most
// 400 KB, and DynamoDB JSON spells them out at most a few times larger.
const maxLine = 16 << 20

// Table is one model's input: the files holding its items.
type Table struct {
	Model string
	Files []string
}

// ModelOfTable maps an AppSync table name (Post-<apiId>-<env>) or a file
// name (Post-abc-dev.json.gz, Post.json) to the model name: what precedes
// the first '-' or '.'.
func ModelOfTable(name string) string {
	name = filepath.Base(name)
	if i := strings.IndexAny(name, "-."); i >= 0 {
		return name[:i]
	}
	return name
}

// Resolve turns input paths into tables. A file's model is named by the
// file (ModelOfTable). A directory holding manifest-summary.json is a
// DynamoDB export to S3 (downloaded as is): its model comes from the
// table ARN in the manifest, its items from data/*.json.gz. Any other
// directory contributes each of its *.json, *.jsonl and *.gz files. Several
// files of one model are read in order.
func Resolve(paths []string) ([]Table, error) {
	byModel := map[string][]string{}
	var order []string
	add := func(model, file string) {
		if _, ok := byModel[model]; !ok {
			order = append(order, model)
		}
		byModel[model] = append(byModel[model], file)
	}
	for _, p := range paths {
		model, files, err := resolvePath(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			m := model
			if m == "" {
				m = ModelOfTable(f)
			}
			add(m, f)
		}
	}
	out := make([]Table, 0, len(order))
	for _, m := range order {
		out = append(out, Table{Model: m, Files: byModel[m]})
	}
	return out, nil
}

// resolvePath returns the files of one input path and, for a table
// export, the model its manifest names.
func resolvePath(p string) (model string, files []string, err error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", nil, fmt.Errorf("dynamo: input: %w", err)
	}
	if !fi.IsDir() {
		return "", []string{p}, nil
	}
	manifest := filepath.Join(p, "manifest-summary.json")
	if b, err := os.ReadFile(manifest); err == nil {
		var m struct {
			TableArn     string `json:"tableArn"`
			ExportFormat string `json:"outputFormat"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return "", nil, &InputError{File: manifest, Err: err}
		}
		if m.ExportFormat != "" && m.ExportFormat != "DYNAMODB_JSON" {
			return "", nil, &InputError{File: manifest, Err: fmt.Errorf("export format %s: export with --export-format DYNAMODB_JSON", m.ExportFormat)}
		}
		i := strings.LastIndex(m.TableArn, ":table/")
		if i < 0 {
			return "", nil, &InputError{File: manifest, Err: fmt.Errorf("tableArn %q names no table", m.TableArn)}
		}
		files, err := filepath.Glob(filepath.Join(p, "data", "*.json*"))
		if err != nil {
			return "", nil, err
		}
		slices.Sort(files)
		return ModelOfTable(m.TableArn[i+len(":table/"):]), files, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return "", nil, fmt.Errorf("dynamo: input: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".jsonl") || strings.HasSuffix(n, ".gz")) {
			files = append(files, filepath.Join(p, n))
		}
	}
	if len(files) == 0 {
		return "", nil, fmt.Errorf("dynamo: input: %s holds no *.json, *.jsonl or *.gz files", p)
	}
	return "", files, nil
}

// eachItem calls fn with every item of file and the line it starts on.
// The file is DynamoDB JSON, gzip'ed or not: either a table export (one
// {"Item": {...}} per line) or the output of `aws dynamodb scan --output
// json` ({"Items": [...], ...}).
func eachItem(file string, fn func(line int, item []byte) error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("dynamo: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &InputError{File: file, Err: fmt.Errorf("gzip: %w", err)}
		}
		defer zr.Close()
		r = zr
	}
	in := bufio.NewReaderSize(r, 64<<10)
	first, err := firstByte(in)
	if err == io.EOF {
		return nil // an empty partition file
	}
	if err != nil {
		return &InputError{File: file, Err: err}
	}
	if first != '{' {
		return &InputError{File: file, Line: 1, Err: fmt.Errorf("not DynamoDB JSON: starts with %q, want '{'", first)}
	}
	// A scan output's first key is "Items" (or "Count"...); an export
	// line's is "Item". Reading the first line tells them apart, and a
	// pretty-printed scan output has a first line of just "{".
	head, _ := in.Peek(4096)
	if isScanOutput(head) {
		return eachScanItem(file, in, fn)
	}
	return eachLineItem(file, in, fn)
}

func firstByte(r *bufio.Reader) (byte, error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b, r.UnreadByte()
		}
	}
}

// isScanOutput tells a scan output from an export line by the first key.
func isScanOutput(head []byte) bool {
	d := json.NewDecoder(bytes.NewReader(head))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := d.Token()
	if err != nil {
		return !bytes.Contains(bytes.SplitN(head, []byte("\n"), 2)[0], []byte(`"Item"`))
	}
	k, _ := t.(string)
	return k != "Item"
}

// eachLineItem reads a table export: one {"Item": {...}} per line.
func eachLineItem(file string, in *bufio.Reader, fn func(int, []byte) error) error {
	for line := 1; ; line++ {
		b, err := in.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			full := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) && len(full) <= maxLine {
				b, err = in.ReadSlice('\n')
				full = append(full, b...)
			}
			if len(full) > maxLine {
				return &InputError{File: file, Line: line, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
			}
			b = full
		}
		if err != nil && err != io.EOF {
			return &InputError{File: file, Line: line, Err: err}
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var wrap struct {
				Item json.RawMessage `json:"Item"`
			}
			if jerr := json.Unmarshal(t, &wrap); jerr != nil {
				return &InputError{File: file, Line: line, Err: fmt.Errorf("not a table export line {\"Item\": {...}}: %v", jerr)}
			}
			if len(wrap.Item) == 0 || string(wrap.Item) == "null" {
				return &InputError{File: file, Line: line, Err: errors.New(`no "Item": want {"Item": {...}} per line (a full export; incremental exports are not read)`)}
			}
			if ferr := fn(line, wrap.Item); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// eachScanItem reads a scan output ({"Items": [...]}), in memory: the
// AWS CLI writes one only after holding all of it.
func eachScanItem(file string, in io.Reader, fn func(int, []byte) error) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return &InputError{File: file, Err: err}
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:off], []byte("\n")) }
	d := json.NewDecoder(bytes.NewReader(data))
	fail := func(err error) error { return &InputError{File: file, Line: lineAt(d.InputOffset()), Err: err} }
	if _, err := d.Token(); err != nil {
		return fail(err)
	}
	found := false
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return fail(err)
		}
		if k, _ := t.(string); k != "Items" {
			var skip json.RawMessage
			if err := d.Decode(&skip); err != nil {
				return fail(err)
			}
			continue
		}
		found = true
		if t, err := d.Token(); err != nil || t != json.Delim('[') {
			return fail(errors.New(`"Items" must be a list`))
		}
		for d.More() {
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return fail(err)
			}
			// The item starts after the separator before it.
			start := d.InputOffset() - int64(len(raw))
			if err := fn(lineAt(start), raw); err != nil {
				return err
			}
		}
		if _, err := d.Token(); err != nil {
			return fail(err)
		}
	}
	if !found {
		return &InputError{File: file, Line: 1, Err: errors.New(`no "Items": want a table export ({"Item": ...} lines) or aws dynamodb scan --output json`)}
	}
	return nil
}
