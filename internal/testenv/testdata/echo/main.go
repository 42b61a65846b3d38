// Command echo is a test program for testenv.RunGoProgram. It prints a
// ready line with its arguments, then copies each JSON line of stdin to
// stdout; {"exit":N} makes it exit with status N, and SIGTERM makes it print
// {"signal":"terminated"} and exit 0.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		fmt.Println(`{"signal":"terminated"}`)
		os.Exit(0)
	}()
	ready, _ := json.Marshal(map[string]any{"ready": true, "args": os.Args[1:]})
	fmt.Println(string(ready))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var cmd struct {
			Exit *int `json:"exit"`
		}
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			fmt.Fprintf(os.Stderr, "echo: stdin line is not JSON: %v\n", err)
			os.Exit(2)
		}
		if cmd.Exit != nil {
			os.Exit(*cmd.Exit)
		}
		fmt.Println(sc.Text())
	}
}
