package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
)

// MigrationsDir is the directory, next to the schema, holding the numbered
// migration files.
const MigrationsDir = "migrations"

// Migration is a numbered migration file, migrations/NNNN_<slug>.json: a
// plan, reviewed and committed. Steps that need developer code name their
// Go conversion function (Step.Func), which `dsgen migrate` leaves as a
// placeholder in the model package (see Placeholders).
type Migration struct {
	Format int
	Number int
	From   string
	To     string
	Steps  []Step
}

// migrationFile is a Migration as its file holds it: Step.Old in lock form
// (id, kind name), which reads better than metadata.
type migrationFile struct {
	Format int        `json:"format"`
	Number int        `json:"number"`
	From   string     `json:"from"`
	To     string     `json:"to"`
	Steps  []fileStep `json:"steps"`
}

type fileStep struct {
	Step
	// Old shadows Step.Old in JSON.
	Old *FieldLock `json:"old,omitempty"`
}

// MarshalJSON encodes the migration as its file holds it.
func (m Migration) MarshalJSON() ([]byte, error) {
	f := migrationFile{Format: m.Format, Number: m.Number, From: m.From, To: m.To, Steps: []fileStep{}}
	for _, s := range m.Steps {
		fs := fileStep{Step: s, Old: lockOf(s.Old)}
		fs.Step.Old = nil
		f.Steps = append(f.Steps, fs)
	}
	return json.Marshal(f)
}

// UnmarshalJSON decodes a migration file, rejecting unknown keys (a typo
// in a reviewed file must not be ignored) and unknown field kinds.
func (m *Migration) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f migrationFile
	if err := dec.Decode(&f); err != nil {
		return err
	}
	*m = Migration{Format: f.Format, Number: f.Number, From: f.From, To: f.To}
	for i, fs := range f.Steps {
		s := fs.Step
		if fs.Old != nil {
			if _, ok := storedKinds[fs.Old.Kind]; !ok {
				return fmt.Errorf("step %d: old field %s has kind %q, want scalar, enum or nonModel", i+1, fs.Old.Name, fs.Old.Kind)
			}
			s.Old = fs.Old.meta()
		}
		m.Steps = append(m.Steps, s)
	}
	return nil
}

var fileName = regexp.MustCompile(`^(\d{4,})_[a-z0-9-]+\.json$`)

// number parses the digits of a migration file name.
func number(digits string) int {
	n, err := strconv.Atoi(digits)
	if err != nil {
		return -1 // too many digits: out of range, reported by the caller
	}
	return n
}

// migrations lists the numbered migration files of dir by number.
func migrations(dir string) (map[int]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	out := map[int]string{}
	for _, e := range ents {
		if m := fileName.FindStringSubmatch(e.Name()); m != nil {
			out[number(m[1])] = filepath.Join(dir, e.Name())
		}
	}
	return out, nil
}

// readMigration reads and checks one migration file.
func readMigration(path string) (*Migration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read migration: %w", err)
	}
	var mg Migration
	if err := json.Unmarshal(b, &mg); err != nil {
		return nil, fmt.Errorf("read migration %s: %w", path, err)
	}
	if mg.Format != LockFormat {
		return nil, fmt.Errorf("read migration %s: format %d, want %d (written by another dsgen version?)", path, mg.Format, LockFormat)
	}
	return &mg, nil
}

// NextNumber returns the number WriteMigration gives the next migration in
// dir: after both the lock's last migration and the files already there.
func NextNumber(dir string, lock *Lock) (int, error) {
	have, err := migrations(dir)
	if err != nil {
		return 0, err
	}
	n := lock.Migration + 1
	for k := range have {
		n = max(n, k+1)
	}
	return n, nil
}

// WriteMigration writes p as the next numbered migration in dir (see
// NextNumber) and returns it and its path. Each step that needs developer
// code names its conversion function, convertNNNN<Model><Field> (for a
// removed enum value convertNNNN<Enum><Value>), unique in the migration.
func WriteMigration(dir string, lock *Lock, p *Plan) (*Migration, string, error) {
	n, err := NextNumber(dir, lock)
	if err != nil {
		return nil, "", err
	}
	mg := &Migration{Format: LockFormat, Number: n, From: p.From, To: p.To, Steps: slices.Clone(p.Steps)}
	used := map[string]bool{}
	for i := range mg.Steps {
		s := &mg.Steps[i]
		if s.Effect != meta.NeedsCode {
			continue
		}
		what := s.Field
		if s.Kind == meta.RemoveEnumValue {
			what = s.Value
		}
		name := fmt.Sprintf("convert%04d%s%s", n, exported(s.Model), exported(what))
		for k := 2; used[name]; k++ {
			name = fmt.Sprintf("convert%04d%s%s%d", n, exported(s.Model), exported(what), k)
		}
		used[name], s.Func = true, name
	}
	b, err := json.MarshalIndent(mg, "", "  ")
	if err != nil {
		return nil, "", fmt.Errorf("encode migration: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("write migration: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%04d_%s.json", n, slug(p)))
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return nil, "", fmt.Errorf("write migration: %w", err)
	}
	return mg, path, nil
}

// exported capitalises a GraphQL name for use inside a Go identifier.
func exported(name string) string {
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// slug names a migration after its first step.
func slug(p *Plan) string {
	if len(p.Steps) == 0 {
		return "empty"
	}
	s := p.Steps[0]
	words := []string{camelWords(string(s.Kind)), s.Model, s.Field, s.Index, s.Value}
	out := strings.ToLower(strings.Join(strings.Fields(strings.Join(words, " ")), "-"))
	out = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(out, "")
	if len(out) > 48 {
		out = strings.TrimRight(out[:48], "-")
	}
	if len(p.Steps) > 1 {
		out += fmt.Sprintf("-and-%d-more", len(p.Steps)-1)
	}
	return out
}

func camelWords(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
