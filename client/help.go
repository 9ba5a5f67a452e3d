package client

import (
	"context"
	"net/http"
)

// HelpService reaches the server's /help endpoints.
type HelpService service

// SelfTest calls GET /help/hawk/self-test, which answers
// {"authenticated":true} when the request's Hawk signature verified.
func (s *HelpService) SelfTest(ctx context.Context) (bool, *Response, error) {
	req, err := s.client.NewRequest(ctx, http.MethodGet, "help/hawk/self-test", nil)
	if err != nil {
		return false, nil, err
	}
	var out struct {
		Authenticated bool `json:"authenticated"`
	}
	resp, err := s.client.Do(req, &out)
	if err != nil {
		return false, resp, err
	}
	return out.Authenticated, resp, nil
}
