// Command v1 is the readings app as built from schema v1: it writes -n
// readings r000000.. with value i, in batches.
package main

import (
	"context"
	"flag"
	"fmt"

	"example.com/app/appkit"
	"example.com/app/model"
)

func main() {
	dir := flag.String("dir", "", "store directory")
	n := flag.Int("n", 50000, "readings to write")
	flag.Parse()
	ctx := context.Background()
	ds, err := model.Open(ctx, *dir)
	if err != nil {
		appkit.Fail(err)
	}
	defer ds.Close(ctx)
	const batch = 1000
	for lo := 0; lo < *n; lo += batch {
		err := ds.Batch(ctx, func(tx *model.Tx) error {
			for i := lo; i < min(lo+batch, *n); i++ {
				if err := tx.Reading.Save(ctx, &model.Reading{ID: fmt.Sprintf("r%06d", i), Value: i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			appkit.Fail(err)
		}
	}
	count, err := ds.Reading.Query().Count(ctx)
	if err != nil {
		appkit.Fail(err)
	}
	appkit.Emit(map[string]any{"event": "written", "count": count})
}
