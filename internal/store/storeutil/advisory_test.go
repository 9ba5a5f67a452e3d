package storeutil

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

func TestEncodeAdvisories(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)
	a1 := &aip.Advisory{ID: "A-1", Summary: "first", Modified: mod}
	b := &aip.Advisory{ID: "B-1", Summary: "other"}
	a1v2 := &aip.Advisory{ID: "A-1", Summary: "second", Modified: mod}

	t.Run("keeps first order and the last copy of an id", func(t *testing.T) {
		encs, ids, err := EncodeAdvisories([]*aip.Advisory{a1, b, a1v2})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"A-1", "B-1"}, ids); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		if got := encs[0].Adv.Summary; got != "second" {
			t.Errorf("A-1 summary = %q, want the last copy's", got)
		}
	})
	t.Run("cuts modified to milliseconds and leaves the input alone", func(t *testing.T) {
		encs, _, err := EncodeAdvisories([]*aip.Advisory{a1})
		if err != nil {
			t.Fatal(err)
		}
		if want := mod.Truncate(time.Millisecond); !encs[0].Adv.Modified.Equal(want) {
			t.Errorf("Modified = %v, want %v", encs[0].Adv.Modified, want)
		}
		if !a1.Modified.Equal(mod) {
			t.Errorf("input Modified changed to %v", a1.Modified)
		}
		var back aip.Advisory
		if err := json.Unmarshal(encs[0].Body, &back); err != nil {
			t.Fatal(err)
		}
		if back.ID != "A-1" || back.Summary != "first" {
			t.Errorf("body decodes to %+v", back)
		}
	})
	t.Run("hash follows content", func(t *testing.T) {
		encs, _, err := EncodeAdvisories([]*aip.Advisory{a1, b})
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := EncodeAdvisories([]*aip.Advisory{a1})
		if err != nil {
			t.Fatal(err)
		}
		changed, _, err := EncodeAdvisories([]*aip.Advisory{a1v2})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encs[0].Sum, again[0].Sum) {
			t.Error("same advisory hashes differently")
		}
		if bytes.Equal(encs[0].Sum, changed[0].Sum) {
			t.Error("changed advisory hashes the same")
		}
	})
	for _, tc := range []struct {
		name string
		advs []*aip.Advisory
	}{
		{"rejects a nil advisory", []*aip.Advisory{a1, nil}},
		{"rejects an advisory without id", []*aip.Advisory{{Summary: "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := EncodeAdvisories(tc.advs)
			if got := aip.ErrorCode(err); got != aip.EINVALID {
				t.Errorf("error %v has code %q, want %q", err, got, aip.EINVALID)
			}
		})
	}
}

func TestEncodeInventory(t *testing.T) {
	inv := func(release string, pkgs ...aip.InstalledPackage) *aip.Inventory {
		return &aip.Inventory{AgentID: "ag", Ecosystem: aip.EcosystemDeb, Distro: "debian", Release: release, Packages: pkgs}
	}
	curl := aip.InstalledPackage{Name: "curl", Version: "7.88.1-10"}
	sum := func(t *testing.T, i *aip.Inventory) []byte {
		t.Helper()
		_, s, err := EncodeInventory(i)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("stores no packages as an empty list", func(t *testing.T) {
		pkgs, _, err := EncodeInventory(inv("12"))
		if err != nil {
			t.Fatal(err)
		}
		if string(pkgs) != "[]" {
			t.Errorf("packages = %s, want []", pkgs)
		}
	})
	t.Run("same snapshot same hash", func(t *testing.T) {
		if !bytes.Equal(sum(t, inv("12", curl)), sum(t, inv("12", curl))) {
			t.Error("hashes differ")
		}
	})
	t.Run("release changes the hash", func(t *testing.T) {
		if bytes.Equal(sum(t, inv("12", curl)), sum(t, inv("11", curl))) {
			t.Error("hashes equal")
		}
	})
	t.Run("fields do not run together", func(t *testing.T) {
		a := &aip.Inventory{Distro: "de", Release: "bian12"}
		b := &aip.Inventory{Distro: "debian", Release: "12"}
		if bytes.Equal(sum(t, a), sum(t, b)) {
			t.Error("hashes equal")
		}
	})
}

func TestIndexNames(t *testing.T) {
	pkgs := []aip.InstalledPackage{
		{Name: "libssl3", Source: "openssl"},
		{Name: "openssl"},
		{Name: "curl"},
		{Name: "libcurl4", Source: "curl"},
	}
	tests := []struct {
		name      string
		ecosystem string
		want      []string
	}{
		{"deb names source packages once", aip.EcosystemDeb, []string{"openssl", "curl"}},
		{"rpm names binary packages", aip.EcosystemRPM, []string{"libssl3", "openssl", "curl", "libcurl4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IndexNames(&aip.Inventory{Ecosystem: tt.ecosystem, Packages: pkgs})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("IndexNames (-want +got):\n%s", diff)
			}
		})
	}
}
