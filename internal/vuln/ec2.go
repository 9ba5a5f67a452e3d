package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aipsec/aip"
)

// maxEC2File bounds an imported describe-instances document.
const maxEC2File = 64 << 20

// describeInstances is the part of `aws ec2 describe-instances` output
// that GET /v2/aws/ec2 shows.
type describeInstances struct {
	Reservations []struct {
		OwnerID   string `json:"OwnerId"`
		Instances []struct {
			InstanceID       string `json:"InstanceId"`
			ImageID          string `json:"ImageId"`
			InstanceType     string `json:"InstanceType"`
			KernelID         string `json:"KernelId"`
			KeyName          string `json:"KeyName"`
			LaunchTime       string `json:"LaunchTime"`
			Architecture     string `json:"Architecture"`
			PrivateDNSName   string `json:"PrivateDnsName"`
			PrivateIPAddress string `json:"PrivateIpAddress"`
			PublicDNSName    string `json:"PublicDnsName"`
			PublicIPAddress  string `json:"PublicIpAddress"`
			SubnetID         string `json:"SubnetId"`
			VPCID            string `json:"VpcId"`
			Placement        struct {
				AvailabilityZone string `json:"AvailabilityZone"`
			} `json:"Placement"`
			State struct {
				Code int    `json:"Code"`
				Name string `json:"Name"`
			} `json:"State"`
			SecurityGroups []struct {
				GroupID   string `json:"GroupId"`
				GroupName string `json:"GroupName"`
			} `json:"SecurityGroups"`
			Tags []struct {
				Key   string `json:"Key"`
				Value string `json:"Value"`
			} `json:"Tags"`
		} `json:"Instances"`
	} `json:"Reservations"`
}

// ParseDescribeInstances reads the JSON printed by `aws ec2
// describe-instances` and returns its instances. An instance without an
// InstanceId, or a LaunchTime that is not RFC 3339, is an error naming
// its position: an import is all or nothing.
func ParseDescribeInstances(r io.Reader) ([]*aip.EC2Instance, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxEC2File+1))
	if err != nil {
		return nil, fmt.Errorf("read describe-instances output: %w", err)
	}
	if len(data) > maxEC2File {
		return nil, fmt.Errorf("describe-instances output is larger than %d MiB", maxEC2File>>20)
	}
	var doc describeInstances
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("describe-instances output is not the expected JSON: %w", err)
	}
	var out []*aip.EC2Instance
	for ri, res := range doc.Reservations {
		for ii, in := range res.Instances {
			pos := fmt.Sprintf("Reservations[%d].Instances[%d]", ri, ii)
			if !strings.HasPrefix(in.InstanceID, "i-") {
				return nil, fmt.Errorf("%s: InstanceId %q is not an instance id", pos, in.InstanceID)
			}
			inst := &aip.EC2Instance{
				ID: in.InstanceID, KernelID: in.KernelID, InstanceType: in.InstanceType,
				PrivateDNSName: in.PrivateDNSName, PrivateIPAddress: in.PrivateIPAddress,
				SubnetID: in.SubnetID, KeyName: in.KeyName, ImageID: in.ImageID, Architecture: in.Architecture,
				PublicDNSName: in.PublicDNSName, PublicIPAddress: in.PublicIPAddress, VPCID: in.VPCID,
				State: in.State.Name, StateCode: in.State.Code, Region: region(in.Placement.AvailabilityZone),
				Groups: []aip.EC2Group{}, Tags: []aip.Tag{},
			}
			if res.OwnerID != "" {
				inst.AWSProfile = &aip.AWSProfile{ID: res.OwnerID}
			}
			if in.LaunchTime != "" {
				t, err := time.Parse(time.RFC3339, in.LaunchTime)
				if err != nil {
					return nil, fmt.Errorf("%s: LaunchTime %q is not an RFC 3339 time", pos, in.LaunchTime)
				}
				inst.LaunchTime = aip.Time{Time: t.UTC()}
			}
			for _, g := range in.SecurityGroups {
				inst.Groups = append(inst.Groups, aip.EC2Group{ID: g.GroupID, Name: g.GroupName})
			}
			for _, tg := range in.Tags {
				inst.Tags = append(inst.Tags, aip.Tag{Source: "ec2", Key: tg.Key, Value: tg.Value})
			}
			out = append(out, inst)
		}
	}
	return out, nil
}

// region is the region of an availability zone: us-east-1 for us-east-1a
// (and for a Local Zone such as us-east-1-bos-1a, the parent region).
func region(az string) string {
	if az == "" {
		return ""
	}
	parts := strings.Split(az, "-")
	if len(parts) >= 3 {
		last := parts[2]
		for i, c := range last {
			if c < '0' || c > '9' {
				last = last[:i]
				break
			}
		}
		return parts[0] + "-" + parts[1] + "-" + last
	}
	return strings.TrimRight(az, "abcdefghijklmnopqrstuvwxyz")
}
