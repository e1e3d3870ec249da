package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lockorder/lockorder/callgraph"
	"github.com/lockorder/lockorder/reports"
	"github.com/lockorder/lockorder/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func findings(t *testing.T, dir string) []rules.Finding {
	t.Helper()
	p, _, err := callgraph.Load(context.Background(), []string{dir}, callgraph.LoadOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	fs := rules.Run(rules.NewContext(p, true), rules.All())
	rules.RelPaths(fs, "..")
	return fs
}

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestSARIFValid validates the SARIF of every fixture folder against the
// SARIF 2.1.0 schema and checks the structure code review relies on.
func TestSARIFValid(t *testing.T) {
	sch := sarifSchema(t)
	dirs, _ := filepath.Glob("../fixtures/*")
	for _, dir := range dirs {
		fs := findings(t, dir)
		var buf bytes.Buffer
		if err := reports.SARIF(&buf, fs, rules.All(), "/src", nil); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: SARIF does not validate: %v", dir, err)
		}
		var log struct {
			Runs []struct {
				Tool struct {
					Driver struct {
						Rules []struct{ ID string } `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID    string `json:"ruleId"`
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct {
								URI       string `json:"uri"`
								URIBaseID string `json:"uriBaseId"`
							} `json:"artifactLocation"`
						} `json:"physicalLocation"`
						LogicalLocations []struct{ Name string } `json:"logicalLocations"`
					} `json:"locations"`
					CodeFlows []struct {
						ThreadFlows []struct {
							Locations []any `json:"locations"`
						} `json:"threadFlows"`
					} `json:"codeFlows"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		if len(log.Runs) != 1 || len(log.Runs[0].Tool.Driver.Rules) != len(rules.All()) {
			t.Fatalf("%s: want one run listing every rule", dir)
		}
		if len(log.Runs[0].Results) != len(fs) {
			t.Errorf("%s: %d results for %d findings", dir, len(log.Runs[0].Results), len(fs))
		}
		for i, r := range log.Runs[0].Results {
			loc := r.Locations[0]
			if loc.PhysicalLocation.ArtifactLocation.URIBaseID != "%SRCROOT%" || strings.HasPrefix(loc.PhysicalLocation.ArtifactLocation.URI, "/") {
				t.Errorf("%s: result %d: location not relative to %%SRCROOT%%", dir, i)
			}
			if len(loc.LogicalLocations) == 0 || r.PartialFingerprints["lockorder/v1"] == "" {
				t.Errorf("%s: result %d: missing function or fingerprint", dir, i)
			}
			if len(r.CodeFlows) == 0 || len(r.CodeFlows[0].ThreadFlows) == 0 {
				t.Errorf("%s: result %d: no code flow", dir, i)
			}
			if r.RuleID == "wakeup-under-lock" && fs[i].Severity == rules.Error && len(r.CodeFlows[0].ThreadFlows) != 2 {
				t.Errorf("%s: result %d: the deadlock needs one thread flow per CPU", dir, i)
			}
		}
	}
}

// TestJSONGolden pins lockorder's own JSON schema.
func TestJSONGolden(t *testing.T) {
	fs := findings(t, "../fixtures/wakeup-under-lock")
	var buf bytes.Buffer
	if err := reports.JSON(&buf, fs); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/wakeup-under-lock.golden.json"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("JSON report differs from %s (run go test ./reports -update after checking the change):\n%s", golden, buf.String())
	}
}

// TestFingerprintStable: a finding's fingerprint must not change when
// unrelated lines above it move.
func TestFingerprintStable(t *testing.T) {
	src, err := os.ReadFile("../fixtures/wakeup-under-lock/stopper_v4_prefix.c")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shifted := "/* an unrelated\n * comment\n * added above */\n" + string(src)
	if err := os.WriteFile(filepath.Join(dir, "s.c"), []byte(shifted), 0o644); err != nil {
		t.Fatal(err)
	}
	a := findings(t, "../fixtures/wakeup-under-lock")
	b := findings(t, dir)
	fa := map[string]bool{}
	for _, f := range a {
		if strings.HasSuffix(f.Loc.Path, "stopper_v4_prefix.c") {
			fa[f.Fingerprint] = true
		}
	}
	if len(fa) == 0 || len(b) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range b {
		if !fa[f.Fingerprint] {
			t.Errorf("fingerprint of %s changed after an edit above it", f.Message)
		}
	}
}
