package mutants

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
)

type proxy struct {
	target func() string
	mutant Mutant
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, err := url.Parse(p.target())
	if err != nil {
		http.Error(w, "mutant proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if p.mutant.Request != nil {
				p.mutant.Request(pr.Out)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if p.mutant.Response == nil {
				return nil
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var body map[string]any
			if json.Unmarshal(data, &body) == nil {
				var status int
				status, body = p.mutant.Response(resp.Request, resp.StatusCode, body)
				resp.StatusCode = status
				data, _ = json.Marshal(body)
			}
			resp.Body = io.NopCloser(bytes.NewReader(data))
			resp.ContentLength = int64(len(data))
			resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
			return nil
		},
	}
	rp.ServeHTTP(w, r)
}
