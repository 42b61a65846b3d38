package serve_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The documents the unmodified Amplify DataStore JS client sends for the
// blog schema, copied verbatim from the transcripts in /work/shared/wire so
// the suite tests what the real client puts on the wire.
const (
	// wireSyncPosts is the syncPosts document of 01-startup.json.
	wireSyncPosts = "query operation($limit: Int, $nextToken: String, $lastSync: AWSTimestamp, $filter: ModelPostFilterInput) {\n  syncPosts(\n    limit: $limit\n    nextToken: $nextToken\n    lastSync: $lastSync\n    filter: $filter\n  ) {\n    items {\n      id\n      title\n      rating\n      status\n      createdAt\n      updatedAt\n      blogPostsId\n      _version\n      _lastChangedAt\n      _deleted\n      blog {\n        id\n        _deleted\n      }\n    }\n    nextToken\n    startedAt\n  }\n}\n"
	// wireCreatePost is the createPost document of 02-create-post.json.
	wireCreatePost = "mutation operation($input: CreatePostInput!) {\n  createPost(input: $input) {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"
	// wireUpdatePost is the updatePost document of 03-update-post.json.
	wireUpdatePost = "mutation operation($input: UpdatePostInput!, $condition: ModelPostConditionInput) {\n  updatePost(input: $input, condition: $condition) {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"
	// wireDeletePost is the deletePost document of 04-delete-post.json.
	wireDeletePost = "mutation operation($input: DeletePostInput!, $condition: ModelPostConditionInput) {\n  deletePost(input: $input, condition: $condition) {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"
	// wireCreateBlog is the createBlog document of 05-create-blog-and-linked-post.json.
	wireCreateBlog = "mutation operation($input: CreateBlogInput!) {\n  createBlog(input: $input) {\n    id\n    name\n    createdAt\n    updatedAt\n    _version\n    _lastChangedAt\n    _deleted\n  }\n}\n"
	// wireOnCreatePost is the onCreatePost document of 01-startup.json.
	wireOnCreatePost = "subscription operation {\n  onCreatePost {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"
	// wireOnUpdatePost is the onUpdatePost document of 01-startup.json.
	wireOnUpdatePost = "subscription operation {\n  onUpdatePost {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"
	// wireOnDeletePost is the onDeletePost document of 01-startup.json.
	wireOnDeletePost = "subscription operation {\n  onDeletePost {\n    id\n    title\n    rating\n    status\n    createdAt\n    updatedAt\n    blogPostsId\n    _version\n    _lastChangedAt\n    _deleted\n    blog {\n      id\n      _deleted\n    }\n  }\n}\n"
)

// wireDir holds the recorded transcripts; TestWireDocumentsMatchTranscripts
// is skipped where it is absent.
const wireDir = "/work/shared/wire"

// TestWireDocumentsMatchTranscripts guards the copies above against drift
// from the recorded transcripts.
func TestWireDocumentsMatchTranscripts(t *testing.T) {
	if _, err := os.Stat(wireDir); err != nil {
		t.Skipf("transcripts not available: %v", err)
	}
	for _, c := range []struct {
		name, doc, file, field string
		ws                     bool
	}{
		{"wireSyncPosts", wireSyncPosts, "01-startup.json", "syncPosts", false},
		{"wireCreatePost", wireCreatePost, "02-create-post.json", "createPost", false},
		{"wireUpdatePost", wireUpdatePost, "03-update-post.json", "updatePost", false},
		{"wireDeletePost", wireDeletePost, "04-delete-post.json", "deletePost", false},
		{"wireCreateBlog", wireCreateBlog, "05-create-blog-and-linked-post.json", "createBlog", false},
		{"wireOnCreatePost", wireOnCreatePost, "01-startup.json", "onCreatePost", true},
		{"wireOnUpdatePost", wireOnUpdatePost, "01-startup.json", "onUpdatePost", true},
		{"wireOnDeletePost", wireOnDeletePost, "01-startup.json", "onDeletePost", true},
	} {
		b, err := os.ReadFile(filepath.Join(wireDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		var tr struct {
			Events []struct {
				Kind    string `json:"kind"`
				Summary string `json:"summary"`
				Body    struct {
					Query string `json:"query"`
				} `json:"body"`
				Start struct {
					Query string `json:"query"`
				} `json:"startDataDecoded"`
			} `json:"events"`
		}
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		found := false
	events:
		for _, e := range tr.Events {
			if !strings.HasSuffix(e.Summary, " "+c.field) {
				continue
			}
			switch {
			case c.ws && e.Kind == "ws_in":
				found = e.Start.Query == c.doc
			case !c.ws && e.Kind == "http":
				found = e.Body.Query == c.doc
			default:
				continue
			}
			break events
		}
		if !found {
			t.Errorf("%s differs from the %s document in %s", c.name, c.field, c.file)
		}
	}
}
