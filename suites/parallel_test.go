package suites

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRendezvousPutThenGet(t *testing.T) {
	rv := Rendezvous{dir: t.TempDir()}
	type sut struct{ URL string }
	got := make(chan sut, 1)
	go func() {
		var s sut
		if err := rv.Get(t.Context(), "sut", &s); err != nil {
			t.Error(err)
		}
		got <- s
	}()
	time.Sleep(120 * time.Millisecond) // the reader polls an absent file first
	if err := rv.Put("sut", sut{URL: "http://hs:8008"}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.URL != "http://hs:8008" {
		t.Errorf("Get = %+v, want the URL Put left", s)
	}
	if left, _ := filepath.Glob(filepath.Join(rv.dir, ".*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRendezvousGetGivesUpWithTheContext(t *testing.T) {
	rv := Rendezvous{dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	var v any
	err := rv.Get(ctx, "never", &v)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get = %v, want the context's deadline", err)
	}
}

func TestRendezvousGarbageIsAnError(t *testing.T) {
	rv := Rendezvous{dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(rv.dir, "sut"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	var v struct{ URL string }
	if err := rv.Get(t.Context(), "sut", &v); err == nil {
		t.Fatal("Get decoded garbage without an error")
	}
}

func TestRendezvousRemove(t *testing.T) {
	rv := Rendezvous{dir: filepath.Join(t.TempDir(), "rv")}
	if err := os.MkdirAll(rv.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := rv.Put("x", 1); err != nil {
		t.Fatal(err)
	}
	if err := rv.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rv.dir); !os.IsNotExist(err) {
		t.Errorf("directory still there: %v", err)
	}
}
