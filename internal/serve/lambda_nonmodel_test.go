package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// placeSchema nests non-model types in a model: an address (whose geo is
// a second non-model level), a list of them, and a route whose legs (a
// list) hold addresses three levels down. Visit relates to a Place.
const placeSchema = `type Place @model @auth(rules: [{allow: custom}]) {
  id: ID!
  name: String
  address: Address
  stops: [Address]
  route: Route
  visits: [Visit] @hasMany
}

type Address {
  street: String
  city: String!
  geo: Geo
}

type Geo {
  lat: Float
  label: String
}

type Route {
  legs: [Leg!]
}

type Leg {
  to: Address
  note: String
}

type Visit @model @auth(rules: [{allow: custom}]) {
  id: ID!
  placeVisitsId: ID
  place: Place @belongsTo(fields: ["placeVisitsId"])
}
`

const (
	placeAddr   = "street city geo { lat label }"
	placeFields = "id name address { " + placeAddr + " } stops { " + placeAddr + " } route { legs { note to { " + placeAddr + " } } } _version"
	placeCreate = "mutation operation($input: CreatePlaceInput!) { createPlace(input: $input) { " + placeFields + " } }"
	placeUpdate = "mutation operation($input: UpdatePlaceInput!) { updatePlace(input: $input) { " + placeFields + " } }"
	placeGet    = "query operation($id: ID!) { getPlace(id: $id) { " + placeFields + " } }"
	placeList   = "query operation { listPlaces { items { " + placeFields + " } } }"
	placeSync   = "query operation { syncPlaces { items { " + placeFields + " } } }"
	placeOnUpd  = "subscription operation { onUpdatePlace { " + placeFields + " } }"
	visitCreate = "mutation operation($input: CreateVisitInput!) { createVisit(input: $input) { id } }"
	visitGet    = "query operation($id: ID!) { getVisit(id: $id) { id place { " + placeFields + " } } }"
	placeVisits = "query operation($id: ID!) { getPlace(id: $id) { id visits { items { id place { id address { street city } } } } } }"
)

// placeAuthorizer authorizes every token; "lambda-nested" is denied
// Address.street (short form) and Geo.label (ARN form), "lambda-city" the
// non-null Address.city.
func placeAuthorizer(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Token string `json:"authorizationToken"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("authorizer event: %v", err)
		}
		switch ev.Token {
		case "lambda-nested":
			io.WriteString(w, `{"isAuthorized": true, "deniedFields": ["Address.street",
				"arn:aws:appsync:us-east-1:111122223333:apis/dsgen/types/Geo/fields/label"]}`)
		case "lambda-city":
			io.WriteString(w, `{"isAuthorized": true, "deniedFields": ["Address.city"]}`)
		default:
			io.WriteString(w, `{"isAuthorized": true}`)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func placeEnv(t *testing.T) *env {
	hook := placeAuthorizer(t)
	return newEnv(t, envOptions{schema: testenv.LoadSchema(t, placeSchema), config: func(c *serve.Config) {
		c.Auth.Lambda = &auth.LambdaConfig{URL: hook.URL, TTL: time.Minute}
	}})
}

func addr(street, city string, lat float64, label string) map[string]any {
	return map[string]any{"street": street, "city": city, "geo": map[string]any{"lat": lat, "label": label}}
}

// placeInput is a place with every non-model level filled in.
func placeInput(id string) map[string]any {
	return map[string]any{
		"id": id, "name": "home",
		"address": addr("1 Main St", "Springfield", 1.5, "front door"),
		"stops":   []any{addr("2 Elm St", "Shelbyville", 2.5, "gate"), addr("3 Oak St", "Ogdenville", 3.5, "dock")},
		"route":   map[string]any{"legs": []any{map[string]any{"note": "first", "to": addr("4 Pine St", "North Haverbrook", 4.5, "stop")}}},
	}
}

// placeJSON is the place as placeFields selects it, with each address's
// street and geo label replaced when hidden.
func placeJSON(t *testing.T, id string, version int, hidden bool) string {
	t.Helper()
	in := placeInput(id)
	strip := func(a any) any {
		m := a.(map[string]any)
		if !hidden {
			return m
		}
		geo := m["geo"].(map[string]any)
		return map[string]any{"street": nil, "city": m["city"], "geo": map[string]any{"lat": geo["lat"], "label": nil}}
	}
	stops := in["stops"].([]any)
	leg := in["route"].(map[string]any)["legs"].([]any)[0].(map[string]any)
	want := map[string]any{
		"id": id, "name": "home", "_version": version,
		"address": strip(in["address"]),
		"stops":   []any{strip(stops[0]), strip(stops[1])},
		"route":   map[string]any{"legs": []any{map[string]any{"note": "first", "to": strip(leg["to"])}}},
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return canonJSON(t, b)
}

// canonJSON re-encodes JSON with sorted keys, for comparisons.
func canonJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func objJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return canonJSON(t, b)
}

// TestLambdaDeniedNonModelFields: deniedFields of non-model types read as
// null wherever a value of the type appears (the model's field, each item
// of a list, two and three levels down) in every read: mutation results,
// get, list, sync, relations and subscription events. The data is stored
// whole: a caller without deniedFields reads it.
func TestLambdaDeniedNonModelFields(t *testing.T) {
	e := placeEnv(t)
	red, full := lambdaCaller("lambda-nested"), lambdaCaller("lambda-full")

	created := mustOK(t, e.doAs(t, red, placeCreate, map[string]any{"input": placeInput("p1")})).field("createPlace")
	if got, want := objJSON(t, created), placeJSON(t, "p1", 1, true); got != want {
		t.Errorf("createPlace answered the caller with deniedFields\n%s\nwant\n%s", got, want)
	}
	if got, want := objJSON(t, mustOK(t, e.doAs(t, full, placeGet, map[string]any{"id": "p1"})).field("getPlace")), placeJSON(t, "p1", 1, false); got != want {
		t.Fatalf("the place as stored reads\n%s\nwant\n%s", got, want)
	}
	want := placeJSON(t, "p1", 1, true)
	reads := map[string]any{
		"getPlace":    mustOK(t, e.doAs(t, red, placeGet, map[string]any{"id": "p1"})).field("getPlace"),
		"listPlaces":  mustOK(t, e.doAs(t, red, placeList, nil)).field("listPlaces")["items"].([]any)[0],
		"syncPlaces":  mustOK(t, e.doAs(t, red, placeSync, nil)).field("syncPlaces")["items"].([]any)[0],
		"Visit.place": nil,
	}
	mustOK(t, e.doAs(t, full, visitCreate, map[string]any{"input": map[string]any{"id": "v1", "placeVisitsId": "p1"}}))
	reads["Visit.place"] = mustOK(t, e.doAs(t, red, visitGet, map[string]any{"id": "v1"})).field("getVisit")["place"]
	for what, it := range reads {
		if got := objJSON(t, it); got != want {
			t.Errorf("%s answered the caller with deniedFields\n%s\nwant\n%s", what, got, want)
		}
	}
	// Through a hasMany and back (Place.visits.items.place.address).
	p := mustOK(t, e.doAs(t, red, placeVisits, map[string]any{"id": "p1"})).field("getPlace")
	if got := objJSON(t, p["visits"]); got != `{"items":[{"id":"v1","place":{"address":{"city":"Springfield","street":null},"id":"p1"}}]}` {
		t.Errorf("getPlace.visits.items.place answered %s, want street null", got)
	}

	// Subscription events: each subscriber gets its own view of one event.
	host := strings.TrimPrefix(e.ts.URL, "http://")
	redz := map[string]string{"host": host, "Authorization": "lambda-nested"}
	fullz := map[string]string{"host": host, "Authorization": "lambda-full"}
	c := e.dialWS(t, redz)
	c.init()
	c.subscribe("red", placeOnUpd, nil, redz)
	c.subscribe("full", placeOnUpd, nil, fullz)
	mustOK(t, e.doAs(t, full, placeUpdate, map[string]any{"input": map[string]any{"id": "p1", "name": "home", "_version": 1}}))
	got := map[string]string{}
	for range 2 {
		m := c.next()
		if m.Type != appsync.MsgData {
			t.Fatalf("want data, got %s: %s", m.Type, m.Payload)
		}
		got[m.ID] = objJSON(t, decodeResult(t, 200, m.Payload).field("onUpdatePlace"))
	}
	if w := placeJSON(t, "p1", 2, true); got["red"] != w {
		t.Errorf("onUpdatePlace for the subscriber with deniedFields\n%s\nwant\n%s", got["red"], w)
	}
	if w := placeJSON(t, "p1", 2, false); got["full"] != w {
		t.Errorf("onUpdatePlace for the subscriber without deniedFields\n%s\nwant\n%s", got["full"], w)
	}
	// The hidden values were neither changed in the store nor in the
	// event the other subscriber rendered after the first.
	if got, want := objJSON(t, mustOK(t, e.doAs(t, full, placeGet, map[string]any{"id": "p1"})).field("getPlace")), placeJSON(t, "p1", 2, false); got != want {
		t.Errorf("after the redacted reads, the place reads\n%s\nwant\n%s", got, want)
	}
}

// TestLambdaDeniedNonNullNonModelField: a denied non-null field (AppSync
// forces it to null) is a GraphQL non-null violation, as for a model's
// non-null field: an error at its path, and the null goes up to the
// nearest nullable parent (the address, each stop, the route's legs list).
func TestLambdaDeniedNonNullNonModelField(t *testing.T) {
	e := placeEnv(t)
	mustOK(t, e.doAs(t, lambdaCaller("lambda-full"), placeCreate, map[string]any{"input": placeInput("p1")}))
	r := e.doAs(t, lambdaCaller("lambda-city"), placeGet, map[string]any{"id": "p1"})
	p := r.field("getPlace")
	if p == nil || p["id"] != "p1" || p["name"] != "home" {
		t.Fatalf("getPlace with Address.city denied: %s, want the place", r.Raw)
	}
	if p["address"] != nil || objJSON(t, p["stops"]) != "[null,null]" || objJSON(t, p["route"]) != `{"legs":[{"note":"first","to":null}]}` {
		t.Errorf("getPlace with Address.city denied: %s, want address null, stops [null,null], the leg's to null", r.Raw)
	}
	paths := map[string]bool{}
	for _, er := range r.Errors {
		if !strings.Contains(er.Message, "non-nullable") {
			t.Errorf("error %q, want a non-null violation", er.Message)
		}
		paths[objJSON(t, er.Path)] = true
	}
	for _, want := range []string{`["getPlace","address","city"]`, `["getPlace","stops",0,"city"]`, `["getPlace","stops",1,"city"]`, `["getPlace","route","legs",0,"to","city"]`} {
		if !paths[want] {
			t.Errorf("no error at %s: %s", want, r.Raw)
		}
	}
}
