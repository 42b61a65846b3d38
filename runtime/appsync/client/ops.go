package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// SyncArgs are the arguments of one sync query page.
type SyncArgs struct {
	// Filter is the GraphQL filter of a selective sync, or nil.
	Filter map[string]any
	// Limit is the page size; 0 leaves it to the server (100 on AppSync).
	Limit int
	// NextToken continues a sync run; "" starts one.
	NextToken string
	// LastSync is the startedAt of the last completed run, for a delta
	// sync; 0 asks for a base sync.
	LastSync int64
	// RawItems asks for the records as JSON text (SyncPage.RawItems)
	// when the response allows (data without errors, as a sync page
	// normally is), for a caller that decodes them itself: a page of
	// 1,000 records then costs no map per record. Otherwise the page
	// comes with Items as usual.
	RawItems bool
}

// SyncPage is one page of a sync query.
type SyncPage struct {
	// Items are the records, tombstones included, with numbers as
	// json.Number. Null items (records the server failed to resolve) are
	// left out and their errors are in Errors.
	Items []map[string]any
	// RawItems are the records as JSON objects (slices of the response
	// body, null items left out) instead of Items, when SyncArgs.RawItems
	// asked for them and the response is a plain page; nil otherwise.
	RawItems []json.RawMessage
	// NextToken continues the run; "" on the last page.
	NextToken string
	// StartedAt is when the run started on the server (epoch ms), the same
	// on every page of a run; store it as the next LastSync once the last
	// page is applied.
	StartedAt int64
	// Errors are the errors of a partial response: the page's data came
	// with errors (AppSync's nonApplicableDataReceived). Nil normally.
	Errors []*appsync.Error
}

// syncResponse is a sync query's response, decoded in one pass.
type syncResponse struct {
	Data   map[string]*syncConn `json:"data"`
	Errors []*appsync.Error     `json:"errors"`
}

type syncConn struct {
	Items     []map[string]any `json:"items"`
	NextToken *string          `json:"nextToken"`
	StartedAt json.Number      `json:"startedAt"`
}

// Sync fetches one page of the model's sync query. A response with data
// and errors is a page with Errors set; errors without data are returned
// as errors.
func (c *Client) Sync(ctx context.Context, docs *ModelDocs, args SyncArgs) (SyncPage, error) {
	if docs == nil {
		return SyncPage{}, errNoDocs
	}
	if docs.Sync == "" {
		return SyncPage{}, fmt.Errorf("appsync client: model %s has no sync query (disabled by its @model arguments)", docs.Model.Name)
	}
	vars := map[string]any{"limit": nil, "nextToken": nil, "lastSync": args.LastSync, "filter": nil}
	if args.Limit > 0 {
		vars["limit"] = args.Limit
	}
	if args.NextToken != "" {
		vars["nextToken"] = args.NextToken
	}
	if args.Filter != nil {
		vars["filter"] = args.Filter
	}
	body, status, err := c.post(ctx, appsync.Request{Query: docs.Sync, Variables: vars})
	if err != nil {
		return SyncPage{}, err
	}
	if args.RawItems {
		if items, next, started, ok := fastSyncPageRaw(body, docs.SyncField); ok && status/100 == 2 {
			page := SyncPage{RawItems: items, StartedAt: started}
			if next != nil {
				page.NextToken = *next
			}
			return page, nil
		}
	}
	var resp syncResponse
	if items, next, started, ok := fastSyncPage(body, docs.SyncField); ok {
		resp.Data = map[string]*syncConn{docs.SyncField: {Items: items, NextToken: next, StartedAt: started}}
	} else if err := decode(body, &resp); err != nil {
		return SyncPage{}, &ResponseError{StatusCode: status, Reason: "body is not a sync query response", Err: err}
	}
	conn, ok := resp.Data[docs.SyncField]
	if err := classify(status, resp.Errors); err != nil {
		if _, isGQL := err.(*GraphQLError); !isGQL || conn == nil {
			return SyncPage{}, err
		}
	} else if status/100 != 2 {
		return SyncPage{}, &ResponseError{StatusCode: status, Reason: "unexpected HTTP status without GraphQL errors"}
	} else if !ok || conn == nil {
		return SyncPage{}, &ResponseError{StatusCode: status, Reason: fmt.Sprintf("response has no data.%s", docs.SyncField)}
	}
	page := SyncPage{Items: conn.Items, Errors: resp.Errors}
	if conn.Items == nil {
		return SyncPage{}, &ResponseError{StatusCode: status, Reason: fmt.Sprintf("data.%s.items is missing or null", docs.SyncField)}
	}
	if conn.NextToken != nil {
		page.NextToken = *conn.NextToken
	}
	if conn.StartedAt == "" {
		return SyncPage{}, &ResponseError{StatusCode: status, Reason: fmt.Sprintf("data.%s.startedAt is missing or null", docs.SyncField)}
	}
	if page.StartedAt, err = conn.StartedAt.Int64(); err != nil {
		return SyncPage{}, &ResponseError{StatusCode: status, Reason: fmt.Sprintf("data.%s.startedAt is not an integer", docs.SyncField), Err: err}
	}
	// Drop null items in place; they are rare, so keep the fast path free.
	for i, it := range page.Items {
		if it == nil {
			kept := page.Items[:i]
			for _, it := range page.Items[i:] {
				if it != nil {
					kept = append(kept, it)
				}
			}
			page.Items = kept
			break
		}
	}
	return page, nil
}

// The mutation operations of Mutate.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Mutate sends the model's create, update or delete mutation (op is
// OpCreate, OpUpdate or OpDelete) and returns the server's item, numbers
// as json.Number. input holds the fields to write and, for update and
// delete, the _version the change is based on. condition is the
// mutation's condition, or nil; creates take none, as the JS client sends
// them.
func (c *Client) Mutate(ctx context.Context, docs *ModelDocs, op string, input, condition map[string]any) (map[string]any, error) {
	if docs == nil {
		return nil, errNoDocs
	}
	var doc, field string
	switch op {
	case OpCreate:
		doc, field = docs.Create, docs.CreateField
		if condition != nil {
			return nil, fmt.Errorf("appsync client: %s: a create takes no condition", docs.CreateField)
		}
	case OpUpdate:
		doc, field = docs.Update, docs.UpdateField
	case OpDelete:
		doc, field = docs.Delete, docs.DeleteField
	default:
		return nil, fmt.Errorf("appsync client: unknown mutation %q (want create, update or delete)", op)
	}
	if doc == "" {
		return nil, fmt.Errorf("appsync client: model %s has no %s mutation (disabled by its @model arguments)", docs.Model.Name, op)
	}
	if input == nil {
		return nil, fmt.Errorf("appsync client: %s: input is nil", field)
	}
	vars := map[string]any{"input": input}
	if op != OpCreate {
		vars["condition"] = nil
		if condition != nil {
			vars["condition"] = condition
		}
	}
	return c.item(ctx, appsync.Request{Query: doc, Variables: vars}, field, false)
}

// Get fetches one record by its primary key fields (a tombstone included).
// It returns nil and no error when the server has no such record.
func (c *Client) Get(ctx context.Context, docs *ModelDocs, key map[string]any) (map[string]any, error) {
	if docs == nil {
		return nil, errNoDocs
	}
	if docs.Get == "" {
		return nil, fmt.Errorf("appsync client: model %s has no get query (disabled by its @model arguments)", docs.Model.Name)
	}
	return c.item(ctx, appsync.Request{Query: docs.Get, Variables: key}, docs.GetField, true)
}

// item sends a request whose root field is one record.
func (c *Client) item(ctx context.Context, req appsync.Request, field string, nullOK bool) (map[string]any, error) {
	raw, err := c.Do(ctx, req, field)
	if err != nil {
		return nil, err
	}
	var item map[string]any
	if err := decode(raw, &item); err != nil {
		return nil, &ResponseError{StatusCode: 200, Reason: fmt.Sprintf("data.%s is not an object", field), Err: err}
	}
	if item == nil && !nullOK {
		return nil, &ResponseError{StatusCode: 200, Reason: fmt.Sprintf("data.%s is null without an error", field)}
	}
	return item, nil
}
