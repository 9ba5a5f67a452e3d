package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/keyring"
	"github.com/aipsec/aip/internal/rules"
)

// Bootstrap is what the first start on an empty data dir created.
type Bootstrap struct {
	OrgID, UserID, APIKey, Endpoint string
}

// bootstrap creates the first organization, its owner and an API key, and
// writes them to credentialsPath (mode 0600) in the TS_* variables the
// official clients read.
func bootstrap(ctx context.Context, store aip.Store, kr *keyring.Keyring, endpoint, credentialsPath string) (*Bootstrap, error) {
	org, err := CreateOrganization(ctx, store, "Default Organization")
	if err != nil {
		return nil, err
	}
	u, key, err := CreateUser(ctx, store, kr, "owner@localhost", "Owner")
	if err != nil {
		return nil, err
	}
	if err := store.PutMember(ctx, org.ID, u.ID, aip.RoleOwner); err != nil {
		return nil, fmt.Errorf("add owner: %w", err)
	}
	b := &Bootstrap{OrgID: org.ID, UserID: u.ID, APIKey: key, Endpoint: endpoint}
	content := fmt.Sprintf("TS_API_ENDPOINT=%s\nTS_USER_ID=%s\nTS_API_KEY=%s\nTS_ORGANIZATION_ID=%s\n", endpoint, u.ID, key, org.ID)
	if err := writeSecretFile(credentialsPath, content); err != nil {
		return nil, err
	}
	return b, nil
}

// CreateOrganization creates an organization with its Base Rule Set, which
// every new organization gets so that detection works from the start. The
// two are separate writes: an organization whose Base Rule Set failed is
// reported as an error but left in place, and can be given rulesets later.
func CreateOrganization(ctx context.Context, store aip.Store, name string) (*aip.Organization, error) {
	org := &aip.Organization{Name: name}
	if err := store.CreateOrganization(ctx, org); err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	base := rules.BaseRules()
	list := make([]*aip.Rule, 0, len(base))
	for _, b := range base {
		r := rules.ToAPI(b)
		r.OrgID = org.ID
		list = append(list, r)
	}
	rs := &aip.Ruleset{OrgID: org.ID, Name: rules.BaseRuleSetName, Description: rules.BaseRuleSetDescription}
	if err := store.CreateRulesetWithRules(ctx, rs, list); err != nil {
		return nil, fmt.Errorf("create the base rule set of organization %s: %w", org.ID, err)
	}
	return org, nil
}

// CreateUser creates an enabled user with a fresh API key and returns the
// key in clear, the only time it is ever shown.
func CreateUser(ctx context.Context, store aip.Store, kr *keyring.Keyring, email, name string) (*aip.User, string, error) {
	key := keyring.NewAPIKey()
	// The id is chosen here, not by the store, because the sealed key is bound to it.
	u := &aip.User{ID: aip.NewID24(), Email: email, DisplayName: name, Enabled: true}
	sealed, err := kr.Seal(u.ID, key)
	if err != nil {
		return nil, "", fmt.Errorf("seal api key: %w", err)
	}
	if err := store.CreateUser(ctx, u, sealed); err != nil {
		return nil, "", fmt.Errorf("create user %s: %w", email, err)
	}
	return u, key, nil
}

// RotateKey gives a user a new API key; the old one stops working at once.
func RotateKey(ctx context.Context, store aip.Store, kr *keyring.Keyring, userID string) (string, error) {
	key := keyring.NewAPIKey()
	sealed, err := kr.Seal(userID, key)
	if err != nil {
		return "", fmt.Errorf("seal api key: %w", err)
	}
	if err := store.SetAPIKey(ctx, userID, sealed); err != nil {
		return "", fmt.Errorf("rotate key of user %s: %w", userID, err)
	}
	return key, nil
}

// writeSecretFile replaces path with content, readable by the owner only.
// It writes a temporary file and renames it, so the file is never seen
// half-written nor, even briefly, with a wider mode.
func writeSecretFile(path, content string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod states the requirement.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
