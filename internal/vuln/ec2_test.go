package vuln

import (
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/google/go-cmp/cmp"
)

const describeSample = `{
  "Reservations": [{
    "OwnerId": "123456789012",
    "Instances": [{
      "InstanceId": "i-0abc1234def567890", "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro",
      "KeyName": "ops", "LaunchTime": "2026-11-02T10:15:00+00:00", "Architecture": "x86_64",
      "PrivateDnsName": "ip-10-0-1-23.ec2.internal", "PrivateIpAddress": "10.0.1.23",
      "PublicDnsName": "", "SubnetId": "subnet-1", "VpcId": "vpc-1",
      "Placement": {"AvailabilityZone": "us-east-1b"}, "State": {"Code": 16, "Name": "running"},
      "SecurityGroups": [{"GroupName": "web", "GroupId": "sg-1"}], "Tags": [{"Key": "Name", "Value": "web-1"}],
      "Monitoring": {"State": "disabled"}
    }]
  }]
}`

func TestParseDescribeInstances(t *testing.T) {
	got, err := ParseDescribeInstances(strings.NewReader(describeSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []*aip.EC2Instance{{
		ID: "i-0abc1234def567890", ImageID: "ami-0123456789abcdef0", InstanceType: "t3.micro", KeyName: "ops",
		LaunchTime: aip.Time{Time: time.Date(2026, 11, 2, 10, 15, 0, 0, time.UTC)}, Architecture: "x86_64",
		PrivateDNSName: "ip-10-0-1-23.ec2.internal", PrivateIPAddress: "10.0.1.23", SubnetID: "subnet-1", VPCID: "vpc-1",
		Region: "us-east-1", State: "running", StateCode: 16, Groups: []aip.EC2Group{{ID: "sg-1", Name: "web"}},
		Tags: []aip.Tag{{Source: "ec2", Key: "Name", Value: "web-1"}}, AWSProfile: &aip.AWSProfile{ID: "123456789012"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances mismatch (-want +got):\n%s", diff)
	}
}

func TestParseDescribeInstancesRejects(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"rejects text that is not JSON", "nope", "not the expected JSON"},
		{"rejects an instance without id", `{"Reservations":[{"Instances":[{"ImageId":"ami-1"}]}]}`, "Reservations[0].Instances[0]"},
		{"rejects a bad launch time", `{"Reservations":[{"Instances":[{"InstanceId":"i-1","LaunchTime":"yesterday"}]}]}`, "LaunchTime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDescribeInstances(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegion(t *testing.T) {
	for az, want := range map[string]string{"us-east-1b": "us-east-1", "eu-west-3a": "eu-west-3",
		"us-east-1-bos-1a": "us-east-1", "ap-southeast-2c": "ap-southeast-2", "": ""} {
		if got := region(az); got != want {
			t.Errorf("region(%q) = %q, want %q", az, got, want)
		}
	}
}

func FuzzParseDescribeInstances(f *testing.F) {
	f.Add([]byte(describeSample))
	f.Add([]byte(`{"Reservations":[{"Instances":[{"InstanceId":"i-1","Placement":{"AvailabilityZone":"x"}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		insts, err := ParseDescribeInstances(strings.NewReader(string(data)))
		if err == nil {
			for _, in := range insts {
				if !strings.HasPrefix(in.ID, "i-") {
					t.Errorf("accepted instance id %q", in.ID)
				}
			}
		}
	})
}
