package migrate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
)

// Marker starts the undefined identifier a placeholder's body holds: the
// package does not build until the developer writes the conversion and
// deletes that line, and `dsgen migrate --check` fails while one is left.
const Marker = "TODO_dsgen_"

const markerLine = Marker + "write_this_conversion_then_delete_this_line"

// PlaceholderFile is the name of the Go file, in the model package, that
// holds the conversion functions of migration n.
func PlaceholderFile(n int) string { return fmt.Sprintf("migration_%04d.go", n) }

// Placeholders returns the Go source of package pkg declaring one
// conversion function (a meta.Converter) per step of mg that needs
// developer code, or nil when none does. Each has a comment saying what it
// converts and which Go types it receives and must return, and a body that
// does not compile (see Marker). s is the schema mg migrates to; file is
// the migration file's path as the comments cite it. The file has no
// generated-code header: it is the developer's, and dsgen generate never
// removes it.
func Placeholders(mg *Migration, s *meta.Schema, pkg, file string) ([]byte, error) {
	var b bytes.Buffer
	// No Marker outside the bodies: --check counts every line holding it.
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	b.WriteString(comment(fmt.Sprintf("Conversions of migration %04d (%s): write each body, then delete the line that does not compile.", mg.Number, file)))
	n := 0
	for _, st := range mg.Steps {
		if st.Effect != meta.NeedsCode {
			continue
		}
		if st.Func == "" {
			return nil, fmt.Errorf("migration %04d: step %s needs code but names no func", mg.Number, st)
		}
		n++
		doc := fmt.Sprintf("%s %s for migration %04d (%s).%s %s An error stops the migration.",
			st.Func, what(st), mg.Number, file, where(st, s), contract(st, s))
		b.WriteString("\n")
		b.WriteString(comment(doc))
		fmt.Fprintf(&b, "func %s(v any) (any, error) {\n\t%s\n\treturn v, nil\n}\n", st.Func, markerLine)
	}
	if n == 0 {
		return nil, nil
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("migration %04d placeholders: %w", mg.Number, err)
	}
	return src, nil
}

// WritePlaceholders writes Placeholders into dir as PlaceholderFile and
// returns its path, or "" when mg needs no code. It never overwrites: an
// existing file is an error wrapping fs.ErrExist.
func WritePlaceholders(dir string, mg *Migration, s *meta.Schema, pkg, file string) (string, error) {
	src, err := Placeholders(mg, s, pkg, file)
	if err != nil || src == nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write placeholders: %w", err)
	}
	path := filepath.Join(dir, PlaceholderFile(mg.Number))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("write placeholders (an existing file is never overwritten): %w", err)
	}
	if _, err := f.Write(src); err != nil {
		f.Close()
		return "", fmt.Errorf("write placeholders: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write placeholders: %w", err)
	}
	return path, nil
}

// what says what a step's function converts.
func what(st Step) string {
	target := st.Model + "." + st.Field
	switch {
	case st.Kind == meta.RemoveEnumValue:
		return fmt.Sprintf("maps stored %s values %s, removed from the enum,", st.Model, st.Value)
	case st.Old != nil && typeName(st.From) == typeName(st.To) && st.Old.IsList == strings.HasPrefix(st.To, "["):
		return fmt.Sprintf("fills %s, now required (%s -> %s),", target, st.From, st.To)
	}
	return fmt.Sprintf("converts %s from %s to %s", target, st.From, st.To)
}

// where says, for a field of a non-model type, which stored values the
// function runs on: every value of the type, wherever a model holds one.
func where(st Step, s *meta.Schema) string {
	if !st.NonModel || st.Kind == meta.RemoveEnumValue {
		return ""
	}
	var paths []string
	for _, m := range s.Models {
		holders(s, m.Name, m.Fields, st.Model, map[string]bool{}, &paths)
	}
	at := ""
	if len(paths) > 0 {
		at = " (" + strings.Join(paths, ", ") + ")"
	}
	return fmt.Sprintf(" It runs on every stored %s value, wherever a record or an unsent mutation holds one%s; a null %s is left as it is.",
		st.Model, at, st.Model)
}

// holders appends to paths where fields (under path) hold values of the
// non-model type typ: "Site.address.geo", "Site.previous[].geo". seen
// holds the types on the path, so a recursive type ends.
func holders(s *meta.Schema, path string, fields []*meta.Field, typ string, seen map[string]bool, paths *[]string) {
	for _, f := range fields {
		if f.Kind != meta.KindNonModel || !f.Stored() {
			continue
		}
		p := path + "." + f.Name
		if f.IsList {
			p += "[]"
		}
		if f.Type == typ {
			*paths = append(*paths, p)
			continue
		}
		if nm := s.NonModel(f.Type); nm != nil && !seen[f.Type] {
			seen[f.Type] = true
			holders(s, p, nm.Fields, typ, seen, paths)
			delete(seen, f.Type)
		}
	}
}

// contract says which Go types v holds and the function must return, in
// the shapes of meta.Converter.
func contract(st Step, s *meta.Schema) string {
	if st.Kind == meta.RemoveEnumValue {
		var rest []string
		if e := s.Enum(st.Model); e != nil {
			rest = e.Values
		}
		return fmt.Sprintf("v is %q (string); return one of the remaining values (string: %s), or nil where the field holding it is optional.",
			st.Value, strings.Join(rest, ", "))
	}
	in := "the stored value (" + goType(st.Old.Type, st.Old.Kind, st.Old.IsList) + ") or nil"
	now := newField(st, s)
	if now == nil {
		return "v is " + in + "; return the new value."
	}
	out := "return the new value (" + goType(now.Type, now.Kind, now.IsList) + ")"
	if now.IsList && now.ListRequired || !now.IsList && now.Required {
		out += ", not nil: the field is required"
	} else {
		out += " or nil"
	}
	if now.IsList && now.Required {
		out += "; list items must not be nil"
	}
	return "v is " + in + "; " + out + "."
}

// newField finds the step's field in the schema it migrates to.
func newField(st Step, s *meta.Schema) *meta.Field {
	var fields []*meta.Field
	if m := s.Model(st.Model); m != nil {
		fields = m.Fields
	} else if n := s.NonModel(st.Model); n != nil {
		fields = n.Fields
	}
	for _, f := range fields {
		if f.Name == st.Field {
			return f
		}
	}
	return nil
}

// goType names the Go type of a stored value as codec.DecodeMap returns
// it (see meta.Converter).
func goType(typ string, kind meta.TypeKind, list bool) string {
	t := "string"
	switch {
	case kind == meta.KindNonModel:
		t = "map[string]any"
	case kind == meta.KindEnum:
		t = "string, an enum value"
	case typ == meta.Int || typ == meta.AWSTimestamp:
		t = "int64"
	case typ == meta.Float:
		t = "float64"
	case typ == meta.Boolean:
		t = "bool"
	case typ == meta.AWSJSON:
		t = "string, JSON text"
	}
	if list {
		return "[]any of " + t
	}
	return t
}

// typeName strips list brackets and ! from a type string.
func typeName(t string) string { return strings.Trim(t, "[]!") }

// comment wraps text as a // comment of lines up to 77 columns.
func comment(text string) string {
	var b, line strings.Builder
	for _, w := range strings.Fields(text) {
		if line.Len() > 0 && line.Len()+1+len(w) > 74 {
			b.WriteString("// " + line.String() + "\n")
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(w)
	}
	if line.Len() > 0 {
		b.WriteString("// " + line.String() + "\n")
	}
	return b.String()
}

// Todo is a placeholder line still in a Go file.
type Todo struct {
	File string
	Line int
	Text string // the line, trimmed
}

// String returns "file:line: text".
func (t Todo) String() string { return fmt.Sprintf("%s:%d: %s", t.File, t.Line, t.Text) }

// PendingTodos returns every line of the .go files directly in dir (the
// model package) that still holds Marker, in file and line order. A
// missing dir has none.
func PendingTodos(dir string) ([]Todo, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for placeholders: %w", err)
	}
	var out []Todo
	for _, e := range ents { // ReadDir sorts by name
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("look for placeholders: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, len(b)+1)
		for n := 1; sc.Scan(); n++ {
			if strings.Contains(sc.Text(), Marker) {
				out = append(out, Todo{File: path, Line: n, Text: strings.TrimSpace(sc.Text())})
			}
		}
	}
	return out, nil
}
