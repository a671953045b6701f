package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"

	"designate/engine"
)

// BenchWriter makes one durable write through the store's group commit:
// the floor a product write is measured against. store.DB implements it.
type BenchWriter interface {
	BenchWrite(ctx context.Context, key, value []byte) error
}

// EnableBench adds the baseline endpoints `designate rush --baseline`
// compares the product with, on the same router and behind the same
// middleware as every other route:
//
//   - GET /api/v1/bench/hello answers a tiny body and does nothing else;
//   - POST /api/v1/bench/write?key=K stores the body under K with one
//     synced write, and answers 204.
//
// They take no sign-in, so the server adds them only when bench.endpoints
// is on, never in production. Call it before serving.
func (s *Server) EnableBench(store BenchWriter) {
	const api = "/api/v1/bench"
	s.router.HandleFunc(api+"/hello", s.benchHello).Methods(http.MethodGet)
	s.router.HandleFunc(api+"/write", func(w http.ResponseWriter, r *http.Request) { s.benchWrite(w, r, store) }).Methods(http.MethodPost)
}

// benchHello is the least a handler on this router can do.
func (s *Server) benchHello(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"hello": "world"})
}

// benchKey bounds the keys, so a client chooses how many records the bench
// bucket holds (as many as the dossiers it rewrites), never an unbounded
// number.
var benchKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// benchWrite stores the request's body with one durable write. The body is
// capped as every request's is (limitBody), which is also the cap of a
// dossier save.
func (s *Server) benchWrite(w http.ResponseWriter, r *http.Request, store BenchWriter) {
	key := r.URL.Query().Get("key")
	if !benchKey.MatchString(key) {
		s.fail(w, r, engine.FieldErrors(engine.EINVALID, "The write needs a key.", map[string]string{"key": "must be 1 to 64 letters, digits, - or _"}))
		return
	}
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.fail(w, r, engine.Errorf(engine.ETOOLARGE, "The body is over %d bytes.", tooLarge.Limit))
		return
	} else if err != nil {
		s.fail(w, r, engine.Errorf(engine.EINVALID, "The body could not be read."))
		return
	}
	if err := store.BenchWrite(r.Context(), []byte(key), body); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
