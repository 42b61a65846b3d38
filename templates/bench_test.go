package templates_test

import (
	"path/filepath"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/templates"
)

// BenchmarkGenerate measures loading and generating the synthetic schemas
// (10, 100 and 500 models), without disk writes.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []string{"10", "100", "500"} {
		path, _ := filepath.Abs("../../shared/schemas/synthetic/synth" + n + ".graphql")
		b.Run("models="+n, func(b *testing.B) {
			srcs, err := schema.ReadPath(path)
			if err != nil {
				b.Skip(err)
			}
			for b.Loop() {
				s, err := schema.Load(srcs, schema.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := schema.Introspection(s); err != nil {
					b.Fatal(err)
				}
				if _, err := templates.Generate(s, templates.Config{Package: "model", ImportPath: "example.com/model"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
