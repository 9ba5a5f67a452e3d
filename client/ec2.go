package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aipsec/aip"
)

// EC2Service lists the organization's EC2 servers.
type EC2Service service

// EC2ListOptions filters EC2Service.List.
type EC2ListOptions struct {
	// Monitored, when set, keeps only monitored (true) or unmonitored
	// (false) servers.
	Monitored *bool
	// Verbose embeds each server's agents and AWS profile.
	Verbose bool
	// Token continues a listing from a previous Response.NextToken.
	Token string
}

func (o *EC2ListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	mon, verbose := "", ""
	if o.Monitored != nil {
		mon = strconv.FormatBool(*o.Monitored)
	}
	if o.Verbose {
		verbose = "true"
	}
	return values("monitored", mon, "verbose", verbose, "token", o.Token)
}

// List returns one page (at most 100, by instance id) of the
// organization's EC2 servers (GET /v2/aws/ec2).
func (s *EC2Service) List(ctx context.Context, opts *EC2ListOptions) ([]*aip.EC2Instance, *Response, error) {
	var env struct {
		Servers []*aip.EC2Instance `json:"servers"`
		Token   *string            `json:"token"`
	}
	resp, err := s.client.call(ctx, http.MethodGet, withQuery("v2/aws/ec2", opts.query()), nil, &env)
	if err != nil {
		return nil, resp, err
	}
	resp.NextToken = deref(env.Token)
	return env.Servers, resp, nil
}

// All iterates over every matching server, fetching pages as needed.
func (s *EC2Service) All(ctx context.Context, opts *EC2ListOptions) iter.Seq2[*aip.EC2Instance, error] {
	var first EC2ListOptions
	if opts != nil {
		first = *opts
	}
	return paginate("EC2 servers", first.Token, func(token string) ([]*aip.EC2Instance, string, error) {
		page := EC2ListOptions{Token: token}
		if token == first.Token {
			page = first
		}
		srv, resp, err := s.List(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return srv, resp.NextToken, nil
	})
}
