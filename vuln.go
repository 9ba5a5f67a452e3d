package aip

import (
	"context"
	"time"
)

// Package ecosystems: the package managers whose version ordering aip
// implements (dpkg, rpm, apk).
const (
	EcosystemDeb = "deb"
	EcosystemRPM = "rpm"
	EcosystemAPK = "apk"
)

// Vulnerability statuses, as the status filter of GET /v2/vulnerabilities
// names them. Resolved (no longer matching) is aip's extension.
const (
	VulnActive     = "active"
	VulnSuppressed = "suppressed"
	VulnResolved   = "resolved"
	VulnAll        = "all"
)

// InstalledPackage is one package of a host's inventory, as the agent
// reports it (PUT /agent/v1/packages).
type InstalledPackage struct {
	Name string `json:"name"`
	// Version is the full version: [epoch:]version[-release].
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	// Source is the source package (Debian, Ubuntu: advisories name
	// source packages); "" when it is Name.
	Source string `json:"source,omitempty"`
	// SourceVersion is the source package's version when it differs from
	// Version (a binNMU, say); "" when it is Version.
	SourceVersion string `json:"sourceVersion,omitempty"`
}

// AdvisoryName is the name advisories of ecosystem key p by: Debian and
// Ubuntu data name source packages.
func (p InstalledPackage) AdvisoryName(ecosystem string) string {
	if ecosystem == EcosystemDeb && p.Source != "" {
		return p.Source
	}
	return p.Name
}

// Inventory is the full package snapshot of one host. A new snapshot
// replaces the previous one.
type Inventory struct {
	OrgID   string `json:"-"`
	AgentID string `json:"-"`
	// Ecosystem is deb, rpm or apk.
	Ecosystem string `json:"ecosystem"`
	// Distro is the distribution id as os-release names it (debian,
	// ubuntu, alpine, almalinux, rocky, rhel, amzn, centos) and Release its
	// version (12, 22.04, 3.19, 9).
	Distro    string             `json:"distro"`
	Release   string             `json:"release"`
	Packages  []InstalledPackage `json:"packages"`
	UpdatedAt time.Time          `json:"-"`
}

// SecurityNotice is a distribution advisory about a CVE (DSA, USN, ALSA…).
type SecurityNotice struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// VersionRange is one affected interval of an advisory in its
// ecosystem's version order: from Introduced ("0" or "" for the first
// version) up to Fixed (excluded) or LastAffected (included); neither set
// means every later version.
type VersionRange struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"lastAffected,omitempty"`
}

// AffectedPackage is the part of an advisory about one package of one
// distribution release.
type AffectedPackage struct {
	Ecosystem string `json:"ecosystem"`
	Distro    string `json:"distro"`
	// Release is "" when the advisory covers every release of Distro.
	Release string `json:"release,omitempty"`
	// Name is the package the distribution's data names: the source
	// package for Debian and Ubuntu, the binary package otherwise.
	Name     string         `json:"name"`
	Ranges   []VersionRange `json:"ranges,omitempty"`
	Versions []string       `json:"versions,omitempty"`
}

// Advisory is one vulnerability record of the offline advisory database,
// normalized from OSV.
type Advisory struct {
	// ID is the record's own id (CVE-…, DEBIAN-CVE-…, ALSA-…, USN-…).
	ID string `json:"id"`
	// CVEs are the CVE numbers the advisory is about (its id when it is
	// one, and its CVE aliases); the v2 API is keyed by CVE.
	CVEs     []string  `json:"cves"`
	Modified time.Time `json:"modified"`
	Summary  string    `json:"summary,omitempty"`
	// Severity is low, medium, high or critical; VectorType is network,
	// adjacent_network, local or physical ("" when unknown).
	Severity        string            `json:"severity"`
	VectorType      string            `json:"vectorType"`
	SecurityNotices []SecurityNotice  `json:"securityNotices"`
	Affected        []AffectedPackage `json:"affected"`
}

// VulnMatch is one CVE found in one installed package of one agent: what
// matching produces and the store keeps, active until the package no
// longer matches, then resolved (kept, with ResolvedAt).
type VulnMatch struct {
	OrgID      string
	AgentID    string
	CVE        string
	AdvisoryID string
	// Package is the installed package's name; ReportedPackage is
	// "name upstreamVersion" and SystemPackage "name version.arch".
	Package         string
	ReportedPackage string
	SystemPackage   string
	Severity        string
	VectorType      string
	SecurityNotices []SecurityNotice
	FirstSeenAt     time.Time
	LastSeenAt      time.Time
	ResolvedAt      time.Time // zero while active
}

// VulnAgent is an affected server in a vulnerability.
type VulnAgent struct {
	AgentID  string  `json:"agentId"`
	Hostname *string `json:"hostname"`
}

// Vulnerability is the v2 wire shape of a list item of GET
// /v2/vulnerabilities: one CVE in one system package, with the agents that
// have it (DECISIONS.md, "Vulnerabilities").
type Vulnerability struct {
	CVENumber       string           `json:"cveNumber"`
	ReportedPackage string           `json:"reportedPackage"`
	SystemPackage   string           `json:"systemPackage"`
	VectorType      string           `json:"vectorType"`
	Severity        string           `json:"severity"`
	IsSuppressed    bool             `json:"isSuppressed"`
	SecurityNotices []SecurityNotice `json:"securityNotices"`
	Agents          []VulnAgent      `json:"agents"`
}

// Suppression hides a CVE: everywhere, in one package, on one agent, or
// in one package on one agent. The most specific matching suppression
// wins (DECISIONS.md, "Vulnerabilities").
type Suppression struct {
	ID        string  `json:"id"`
	OrgID     string  `json:"-"`
	CVENumber string  `json:"cveNumber"`
	Package   *string `json:"package"`
	AgentID   *string `json:"agentId"`
	Reason    string  `json:"reason"`
	CreatedBy string  `json:"createdBy"`
	CreatedAt Time    `json:"createdAt"`
	ExpiresAt Time    `json:"expiresAt,omitzero"`
}

// VulnFilter selects vulnerabilities of one organization. Listings are
// ordered by (CVE, SystemPackage) ascending.
type VulnFilter struct {
	OrgID string
	// Status is VulnActive, VulnSuppressed, VulnResolved or VulnAll.
	Status string
	// AgentID, Hostname, Package and CVE narrow the listing ("" for any).
	AgentID            string
	Hostname           string
	Package            string
	CVE                string
	HasSecurityNotices bool
	// After continues after this (CVE, SystemPackage) position.
	After *VulnCursor
	Limit int
	// Now decides which suppressions have expired.
	Now time.Time
}

// VulnCursor is a keyset position in a vulnerability listing.
type VulnCursor struct {
	CVE, SystemPackage string
}

// AdvisoryImport counts what an advisory import changed.
type AdvisoryImport struct {
	Added, Updated, Unchanged int
}

// PackageKey names the advisories relevant to one installed package.
type PackageKey struct {
	Ecosystem, Distro, Release, Name string
}

// VulnStore persists inventories, the advisory database, matches and
// suppressions.
type VulnStore interface {
	// PutInventory replaces the inventory of inv.AgentID (of inv.OrgID)
	// and reports whether it differs from the stored one. ENOTFOUND for
	// an unknown agent.
	PutInventory(ctx context.Context, inv *Inventory) (changed bool, err error)
	// FindInventory returns an agent's inventory; ENOTFOUND when it has
	// none.
	FindInventory(ctx context.Context, orgID, agentID string) (*Inventory, error)
	// UpsertAdvisories stores advisories in one transaction: a new id is
	// added, a known one replaced when its content differs, left alone
	// otherwise. It returns the counts and the ids added or updated.
	UpsertAdvisories(ctx context.Context, advs []*Advisory) (AdvisoryImport, []string, error)
	// AdvisoriesFor returns every advisory with an affected entry for one
	// of keys (Release "" in an advisory matches any release).
	AdvisoriesFor(ctx context.Context, keys []PackageKey) ([]*Advisory, error)
	// AffectedFor is the cheap first pass of matching: skeleton advisories
	// (ID and their affected entries for keys, no other field), by id.
	AffectedFor(ctx context.Context, keys []PackageKey) ([]*Advisory, error)
	// AdvisoriesByID returns the advisories with the given ids, by id;
	// unknown ids are left out.
	AdvisoriesByID(ctx context.Context, ids []string) ([]*Advisory, error)
	// AgentsAffectedBy returns the (org, agent) pairs whose inventory holds
	// a package named in one of the advisories' affected entries, or with
	// an active match from one of them (an update may have dropped the
	// package the match came from).
	AgentsAffectedBy(ctx context.Context, advisoryIDs []string) ([]AgentRef, error)
	// ReplaceVulnMatches makes matches the agent's active vulnerabilities
	// as of now: new ones are added, known ones keep FirstSeenAt, and
	// active ones missing from matches become resolved at now.
	ReplaceVulnMatches(ctx context.Context, orgID, agentID string, matches []*VulnMatch, now time.Time) error
	// ListVulnerabilities groups the matches of f by (CVE, SystemPackage),
	// with their agents, at most f.Limit groups.
	ListVulnerabilities(ctx context.Context, f VulnFilter) ([]*Vulnerability, error)
	// ListVulnServers returns the agents with an active match of cve,
	// ordered by agent id after `after`, at most limit.
	ListVulnServers(ctx context.Context, orgID, cve, after string, limit int) ([]VulnAgent, error)
	// CreateSuppression stores s, filling ID and CreatedAt.
	CreateSuppression(ctx context.Context, s *Suppression) error
	// ListSuppressions returns the organization's suppressions, newest
	// first.
	ListSuppressions(ctx context.Context, orgID string) ([]*Suppression, error)
	// DeleteSuppression removes one; ENOTFOUND when absent.
	DeleteSuppression(ctx context.Context, orgID, id string) error
}

// AgentRef names one agent of one organization.
type AgentRef struct {
	OrgID, AgentID string
}

// EC2Group is a security group of an EC2 instance.
type EC2Group struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AWSProfile names the AWS account an instance was imported from.
type AWSProfile struct {
	ID          string `json:"id"`
	OrgName     string `json:"orgName"`
	Description string `json:"description"`
}

// EC2Instance is the v2 wire shape of GET /v2/aws/ec2 items (api-v2.md
// §3.8): imported from `aws ec2 describe-instances`, or known only from a
// monitoring agent's instance id. Monitored and Agents are filled when
// listing, from the organization's agents.
type EC2Instance struct {
	ID               string      `json:"id"`
	OrgID            string      `json:"-"`
	KernelID         string      `json:"kernelId"`
	InstanceType     string      `json:"instanceType"`
	PrivateDNSName   string      `json:"privateDnsName"`
	PrivateIPAddress string      `json:"privateIpAddress"`
	Groups           []EC2Group  `json:"groups"`
	SubnetID         string      `json:"subnetId"`
	KeyName          string      `json:"keyName"`
	Region           string      `json:"region"`
	LaunchTime       Time        `json:"launchTime"`
	ImageID          string      `json:"imageId"`
	Architecture     string      `json:"architecture"`
	PublicDNSName    string      `json:"publicDnsName"`
	PublicIPAddress  string      `json:"publicIpAddress"`
	VPCID            string      `json:"vpcId"`
	AWSProfile       *AWSProfile `json:"awsProfile,omitempty"`
	Monitored        bool        `json:"monitored"`
	Tags             []Tag       `json:"tags"`
	State            string      `json:"state"`
	StateCode        int         `json:"stateCode"`
	Agents           []*Agent    `json:"agents,omitempty"`
}

// EC2Store persists imported EC2 instances.
type EC2Store interface {
	// PutEC2Instances adds or replaces (by instance id) instances of orgID
	// and returns how many it stored.
	PutEC2Instances(ctx context.Context, orgID string, instances []*EC2Instance) (int, error)
	// ListEC2Instances returns every imported instance of orgID, by id.
	ListEC2Instances(ctx context.Context, orgID string) ([]*EC2Instance, error)
}
