// minihs is a deliberately small, optionally misbehaving stand-in for a
// homeserver, used by the harness's own tests. MINIHS_MODE selects:
// ok (answers /versions), crash (exits at once), hang (accepts, never
// answers), garbage (answers 200 with a body that is not JSON), slow
// (answers after 30 s), huge (answers ready, then 64 MiB to /huge).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	mode := os.Getenv("MINIHS_MODE")
	fmt.Println("minihs: mode", mode)
	switch mode {
	case "crash":
		fmt.Println("minihs: crashing on purpose")
		os.Exit(3)
	case "hang":
		ln, err := net.Listen("tcp", ":8008")
		if err != nil {
			os.Exit(1)
		}
		for {
			conn, err := ln.Accept()
			if err != nil {
				continue
			}
			go func() { time.Sleep(time.Hour); conn.Close() }()
		}
	}
	http.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = 'x'
		}
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	http.HandleFunc("/_matrix/client/versions", func(w http.ResponseWriter, r *http.Request) {
		if mode == "slow" {
			time.Sleep(30 * time.Second)
		}
		if mode == "garbage" {
			fmt.Fprint(w, "<html>not json")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"versions":["v1.19"]}`)
	})
	_ = http.ListenAndServe(":8008", nil)
}
