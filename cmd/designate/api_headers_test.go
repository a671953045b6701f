package main

import "testing"

// Every answer, the router's own 404 and 405 included, carries the headers
// that stop a browser from sniffing, framing or leaking it.
func TestAPI_EveryAnswer_HasSecurityHeaders(t *testing.T) {
	tm := MustRunMain(t, false)
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"OK", "GET", "/healthz", "", 200},
		{"NotFoundRoute", "GET", "/no/such/route", "", 404},
		{"WrongMethod", "DELETE", "/api/v1/calls", "", 405},
		{"BadToken", "GET", "/api/v1/applications", "not-a-token", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := tm.MustSend(c.method, c.path, c.token, nil)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d", r.Status, c.status)
			}
			want := map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
				"Referrer-Policy":         "same-origin",
			}
			for h, v := range want {
				if got := r.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
		})
	}
}
