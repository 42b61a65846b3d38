//go:build unix

package store_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
)

// killChildEnv names the store directory the re-executed test binary
// writes into until it is killed.
const killChildEnv = "DSGEN_STORE_KILL_CHILD"

// TestAcknowledgedWritesSurviveKill runs 32 writers in a process of their
// own, which prints each write once Mutate has acknowledged it, and kills
// it with SIGKILL mid-stream. Reopened, the store holds every acknowledged
// write, and its sequence continues after the highest acknowledged one.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedWritesSurviveKill$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child stops if this process goes
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const enough = 3000
	acked := map[string]uint64{}
	var maxSeq uint64
	sc := bufio.NewScanner(out)
	for len(acked) < enough && sc.Scan() {
		id, seq, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil {
			t.Fatalf("child wrote %q", sc.Text())
		}
		acked[id] = n
		maxSeq = max(maxSeq, n)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < enough {
		t.Fatalf("child stopped after %d acknowledged writes: %v", len(acked), sc.Err())
	}

	s := open(t, store.Options{Dir: dir})
	ctx := context.Background()
	for id, seq := range acked {
		r, err := s.Get(ctx, "Post", []any{id})
		if err != nil {
			t.Fatalf("acknowledged write %s (seq %d) lost: %v", id, seq, err)
		}
		if r.Item["id"] != id {
			t.Fatalf("%s: item %v", id, r.Item)
		}
	}
	next := put(t, s, "Post", []any{"after"}, map[string]any{"id": "after"})
	if next.Seq <= maxSeq {
		t.Fatalf("write after the kill: seq %d, not after the acknowledged %d", next.Seq, maxSeq)
	}
	t.Logf("%d acknowledged writes (seq up to %d) survived; next seq %d", len(acked), maxSeq, next.Seq)
}

// killChild is the process TestAcknowledgedWritesSurviveKill kills: it
// writes from 32 goroutines and prints "<id> <seq>" for each write Mutate
// acknowledged, until killed or until its stdin closes.
func killChild(dir string) {
	s, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%02d-%06d", w, i)
				ch, err := s.Mutate(context.Background(), "Post", []any{id}, create(map[string]any{"id": id, "title": "t"}))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%s %d\n", id, ch.Seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
