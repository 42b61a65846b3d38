package names

import "testing"

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"title":          "Title",
		"blogPostsId":    "BlogPostsID",
		"SCREAMING_CASE": "ScreamingCase",
		"created_at":     "CreatedAt",
		"HTMLBody":       "HTMLBody",
		"postURLs":       "PostURLs",
		"x-ray.v2":       "XRayV2",
		"_version":       "Version",
		"2fa":            "X2fa",
		"":               "X",
	} {
		if got := GoName(in); got != want {
			t.Errorf("GoName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPackage(t *testing.T) {
	for in, want := range map[string]string{
		"/app/model":        "model",
		"internal/My-Store": "mystore",
		"/app/data.v2":      "datav2",
		"/app/model_store/": "modelstore",
	} {
		if got := Package(in); got != want {
			t.Errorf("Package(%q) = %q, want %q", in, got, want)
		}
	}
}
