package csapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/asconform/asconform/internal/csapi"
)

// The Response helpers read whatever a system under test answered. They
// must not panic on any body, and ErrCode, which decides whether a spec's
// errcode expectation (match.HaveError) is met, must read exactly the
// "errcode" member that the specification names: JSON member names are
// case-sensitive.

func FuzzResponseHelpers(f *testing.F) {
	seeds := []struct {
		status int
		body   string
		field  string
	}{
		{403, `{"errcode":"M_FORBIDDEN","error":"no"}`, "error"},
		{200, `{"user_id":"@a:hs","device_id":"D"}`, "user_id"},
		{200, `{"room_id":5}`, "room_id"},
		{401, `{"flows":[{"stages":["m.login.dummy"]}],"session":"s"}`, "session"},
		{400, `{"errcode":null}`, "errcode"},
		{400, `{"errcode":["M_X"]}`, "errcode"},
		{400, `{"errcode":"M_\u00e9\ud83d\ude00","error":"\u0000"}`, "error"},
		{400, `{"errcode":"M_A","errcode":"M_B"}`, "errcode"},
		{403, `{"ERRCODE":"M_FORBIDDEN"}`, "ERRCODE"},
		{403, `{"ErrCode":"M_FORBIDDEN","errcode":"M_UNKNOWN"}`, "errcode"},
		{404, `["errcode","M_NOT_FOUND"]`, "errcode"},
		{404, `"M_NOT_FOUND"`, ""},
		{500, `{"errcode":"M_UNKNOWN"`, "errcode"},
		{500, `{"errcode":"M_UNKNOWN"} trailing`, "errcode"},
		{502, "<html><body>Bad Gateway</body></html>", "errcode"},
		{200, "", ""},
		{0, "\xff\xfe\x00garbage", "x"},
		{-1, `{"a":{"b":{"c":[1,2,{"d":"e"}]}}}`, "a"},
		{200, `  {"a" : "b" }  ` + "\n", "a"},
		{200, `{"a":"` + strings.Repeat("x\\n", 3000) + `"}`, "a"},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body), s.field)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, field string) {
		orig := bytes.Clone(body)
		r := csapi.Response{Status: status, Body: body}

		if got, want := r.Field(field), exactField(body, field); got != want {
			t.Fatalf("Field(%q) of %q = %q, want %q", field, body, got, want)
		}
		if got, want := r.ErrCode(), exactField(body, "errcode"); got != want && !ambiguousErrcode(body) {
			t.Fatalf("ErrCode() of %q = %q, want the \"errcode\" member %q", body, got, want)
		}

		var v any
		err := r.JSON(&v)
		wantErr := json.Unmarshal(body, new(any))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("JSON(%q) error = %v, json.Unmarshal error = %v", body, err, wantErr)
		}
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, strconv.Itoa(status)) {
				t.Errorf("JSON error does not name the status %d: %s", status, msg)
			}
			// The body is quoted up to 200 bytes, so a huge answer does not
			// flood a failure message.
			if len(msg) > 2000 {
				t.Errorf("JSON error is %d bytes long", len(msg))
			}
			if !errors.Is(err, wantErr) && !strings.Contains(msg, wantErr.Error()) {
				t.Errorf("JSON error %q does not carry the decoder's %q", msg, wantErr)
			}
		}

		if s := r.String(); !strings.HasPrefix(s, strconv.Itoa(status)+" ") {
			t.Errorf("String() = %.100q, want it to start with the status", s)
		}
		if !bytes.Equal(body, orig) {
			t.Fatal("a helper modified the response body")
		}
	})
}

// exactField is the specification's reading of a top-level string member:
// the member named exactly name (the last one if repeated, as JSON decoders
// commonly do), if the body is a JSON object and that member a string.
func exactField(body []byte, name string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) != nil {
		return ""
	}
	return s
}

// ambiguousErrcode reports bodies with the errcode member repeated: which
// one counts is not specified, so ErrCode may pick either.
func ambiguousErrcode(body []byte) bool {
	n := 0
	walkMembers(body, func(key string) {
		if key == "errcode" {
			n++
		}
	})
	return n > 1
}

// walkMembers calls fn with every top-level member name of a JSON object.
func walkMembers(body []byte, fn func(string)) {
	if !json.Valid(body) {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		key, _ := tok.(string)
		fn(key)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return
		}
	}
}
