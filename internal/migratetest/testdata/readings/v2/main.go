// Command v2 is the readings app as built from schema v2, where value is
// a Float (the conversion doubles it) and bucket a new indexed field. It
// opens the store, migrating it and reporting each step of the migration;
// with -stall N it stops for good after the Nth batch of records, to be
// killed there. Then it checks every reading and reports
// {"event":"verified","count","wrong":[first few],"indexed","plan"}.
package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"example.com/app/appkit"
	"example.com/app/model"
)

func main() {
	dir := flag.String("dir", "", "store directory")
	stall := flag.Int("stall", 0, "stop for good after this many batches of records")
	flag.Parse()
	ctx := context.Background()
	ds, err := model.Open(ctx, *dir, appkit.Progress(*stall))
	if err != nil {
		appkit.Fail(err)
	}
	defer ds.Close(ctx)
	if err := ds.Start(ctx); err != nil {
		appkit.Fail(err)
	}
	all, err := ds.Reading.Query().All(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	var wrong []string
	for _, r := range all {
		i, err := strconv.Atoi(r.ID[1:])
		if err != nil || r.Value != float64(2*i) || r.Bucket == nil || *r.Bucket != 3 {
			if len(wrong) < 10 {
				wrong = append(wrong, fmt.Sprintf("%s: value %v bucket %v", r.ID, r.Value, r.Bucket))
			}
		}
	}
	q := ds.Reading.QueryByBucket(3)
	indexed, err := q.All(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	ids := map[string]bool{}
	for _, r := range indexed {
		ids[r.ID] = true
	}
	appkit.Emit(map[string]any{"event": "verified", "count": len(all), "wrong": wrong,
		"indexed": len(indexed), "indexedIDs": len(ids), "plan": q.Plan()})
}
