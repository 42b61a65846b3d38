package schema

import (
	"strings"
	"testing"
)

// TestTimestampFieldTypes accepts every declared timestamp type the store
// and the server can stamp, and rejects the others with a message that says
// what to do.
func TestTimestampFieldTypes(t *testing.T) {
	for _, typ := range []string{"AWSDateTime", "AWSDateTime!", "AWSDate", "AWSTime!", "AWSTimestamp", "String"} {
		src := "type Post @model {\n  id: ID!\n  createdAt: " + typ + "\n  updatedAt: " + typ + "\n}\n"
		if err := load(src); err != nil {
			t.Errorf("createdAt: %s rejected: %v", typ, err)
		}
	}
	src := "type Post @model(timestamps: {createdAt: \"createdOn\"}) {\n  id: ID!\n  createdOn: Int\n  updatedAt: [AWSDateTime]\n}\n"
	err := load(src)
	if err == nil {
		t.Fatal("Int and list timestamps accepted")
	}
	for _, want := range []string{
		posOfMarker(t, src, "createdOn: Int", 1) + ": Post.createdOn: a timestamp field must be AWSDateTime, AWSDate, AWSTime, AWSTimestamp or String, and createdOn is",
		"Post.updatedAt: a timestamp field must be",
		"@model(timestamps: {...})",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
