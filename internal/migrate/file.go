package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// MigrationsDir is the directory, next to the schema, holding the numbered
// migration files.
const MigrationsDir = "migrations"

// Migration is a numbered migration file, migrations/NNNN_<slug>.json: a
// plan, reviewed and committed.
type Migration struct {
	Format int    `json:"format"`
	Number int    `json:"number"`
	From   string `json:"from"`
	To     string `json:"to"`
	Steps  []Step `json:"steps"`
	// Todo lists what the developer must still write; a migration with a
	// todo cannot be applied, and `dsgen migrate --check` fails.
	Todo []string `json:"todo,omitempty"`
}

var fileName = regexp.MustCompile(`^(\d{4,})_[a-z0-9-]+\.json$`)

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
			n, _ := strconv.Atoi(m[1]) // digits only
			out[n] = filepath.Join(dir, e.Name())
		}
	}
	return out, nil
}

// WriteMigration writes p as the next numbered migration in dir (after
// both the lock's last migration and the files already there) and returns
// its path and number.
func WriteMigration(dir string, lock *Lock, p *Plan) (string, int, error) {
	have, err := migrations(dir)
	if err != nil {
		return "", 0, err
	}
	n := lock.Migration + 1
	for k := range have {
		n = max(n, k+1)
	}
	mg := Migration{Format: LockFormat, Number: n, From: p.From, To: p.To, Steps: p.Steps}
	for _, s := range p.Todos() {
		mg.Todo = append(mg.Todo, s.Todo)
	}
	b, err := json.MarshalIndent(mg, "", "  ")
	if err != nil {
		return "", 0, fmt.Errorf("encode migration: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("write migration: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%04d_%s.json", n, slug(p)))
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", 0, fmt.Errorf("write migration: %w", err)
	}
	return path, n, nil
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

// PendingTodos returns, for every migration file in dir that still has a
// todo, its path and the todos.
func PendingTodos(dir string) (map[string][]string, error) {
	have, err := migrations(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, path := range have {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read migration: %w", err)
		}
		var mg Migration
		if err := json.Unmarshal(b, &mg); err != nil {
			return nil, fmt.Errorf("read migration %s: %w", path, err)
		}
		if len(mg.Todo) > 0 {
			out[path] = mg.Todo
		}
	}
	return out, nil
}
