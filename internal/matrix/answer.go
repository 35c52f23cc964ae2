package matrix

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// WriteJSON answers with status and body as JSON, {} for a nil body or one
// that does not marshal, and returns the bytes it wrote. The answer is
// complete, well-formed HTTP with its Content-Length: Synapse treats a 200
// without a readable JSON body as a failed transaction.
func WriteJSON(w http.ResponseWriter, status int, body any) []byte {
	data, err := json.Marshal(body)
	if err != nil || body == nil {
		data = []byte("{}")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
	return data
}
