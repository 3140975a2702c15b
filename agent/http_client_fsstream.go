package agent

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fileStreamer is what GET /v1/client/fs/stream needs of the local client;
// *client.Client implements it (the path goes through the allocation
// directory's safe accessor, as for the rest of the fs API).
type fileStreamer interface {
	StreamFile(ctx context.Context, allocID, path, origin string, offset int64, follow bool, emit func(*api.StreamFrame) error) error
}

// clientFSStream is GET /v1/client/fs/stream/{id}?path=&offset=&origin=
// &follow=(default true)&plain=: the file as StreamFrames (raw bytes with
// plain), following new data until the client goes away or the
// allocation ends.
func (s *HTTPServer) clientFSStream(w http.ResponseWriter, r *http.Request, _ *allocdir.AllocDir, p string) (any, error) {
	follow := true
	if _, ok := r.URL.Query()["follow"]; ok {
		var err error
		if follow, err = boolParam(r, "follow"); err != nil {
			return nil, err
		}
	}
	plain, err := boolParam(r, "plain")
	if err != nil {
		return nil, err
	}
	offset, err := int64Param(r, "offset")
	if err != nil {
		return nil, err
	}
	fc, ok := s.client.(fileStreamer)
	if !ok {
		return nil, notSupported("streaming allocation files")
	}
	allocID := mux.Vars(r)["id"]
	err = s.streamFrames(w, r, plain, func(emit func(*api.StreamFrame) error) error {
		if err := fc.StreamFile(r.Context(), allocID, p, r.URL.Query().Get("origin"), offset, follow, emit); err != nil {
			return fsError(p, err)
		}
		return nil
	})
	if err != nil {
		s.logger.Warn("file stream ended with an error", "alloc_id", allocID, "path", p, "error", err)
	}
	return nil, errHandled
}

// int64Param parses the integer query parameter name (0 when absent).
func int64Param(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, structs.NewBadRequest("%s=%q must be an integer", name, v)
	}
	return n, nil
}
