package fakecachix_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
)

const newPath = "/nix/store/1c0ay9a5hkd0hk2q4pq6ah6nkx7qmn0j-hello-2"

func post(t *testing.T, url, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func listPins(t *testing.T, s *fakecachix.Server, cache string) []cachix.Pin {
	t.Helper()
	resp, err := http.Get(s.URL() + "/api/v1/cache/" + cache + "/pin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []cachix.Pin
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPinCreate(t *testing.T) {
	s := fakecachix.Start(t, fakecachix.Options{PathPrefix: "/p", Caches: []fakecachix.Cache{{Name: "demo", Pins: pins}}})
	url := s.URL() + "/api/v1/cache/demo/pin"
	body := `{"name":"hello.x86_64-linux","storePath":"` + newPath + `","artifacts":["bin/hello"],"keep":{"tag":"Revisions","contents":2}}`

	if code, _ := post(t, url, "", body); code != http.StatusUnauthorized {
		t.Errorf("no token set at all: %d, want 401", code)
	}
	s.SetWriteToken("w")
	if code, _ := post(t, url, "", body); code != http.StatusUnauthorized {
		t.Errorf("no token sent: %d, want 401", code)
	}
	if code, _ := post(t, url, "r", body); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, _ := post(t, s.URL()+"/api/v1/cache/nope/pin", "w", body); code != http.StatusNotFound {
		t.Errorf("unknown cache: %d, want 404", code)
	}
	for _, bad := range []string{
		`{"name":"x","storePath":"` + newPath + `","artifacts":null}`,
		`{"name":"x","storePath":"` + newPath + `"}`,
		`{"name":"x","storePath":"` + newPath + `","artifacts":[],"keep":{"tag":"Weeks","contents":1}}`,
		`{"name":"x","storePath":"` + newPath + `","artifacts":[],"keep":{"tag":"Forever","contents":1}}`,
		`{"name":"x","storePath":"` + newPath + `","artifacts":[],"keep":{"tag":"Days"}}`,
		`{"name":"x","storePath":"` + newPath + `","artifacts":[],"keeps":null}`,
		`{"name":"","storePath":"` + newPath + `","artifacts":[]}`,
		`{"name":"x","storePath":"hello","artifacts":[]}`,
	} {
		if code, _ := post(t, url, "w", bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if len(s.PinRequests()) != 0 {
		t.Fatalf("refused requests were recorded: %v", s.PinRequests())
	}

	s.SetListLag(2)
	code, answer := post(t, url, "w", body)
	if code != http.StatusOK || answer != "" {
		t.Fatalf("good request: %d %q, want 200 and no body", code, answer)
	}
	for i := range 2 {
		if got := listPins(t, s, "demo")[0].LastRevision; got.StorePath == newPath {
			t.Fatalf("list %d shows the new revision during the lag", i+1)
		}
	}
	got := listPins(t, s, "demo")[0]
	if got.LastRevision.StorePath != newPath || got.LastRevision.Revision != 3 || got.CreatedOn != pins[0].CreatedOn {
		t.Errorf("after the lag: %+v, want revision 3 (after the preset 2) of %s, first created on %s", got, newPath, pins[0].CreatedOn)
	}
	if reqs := s.PinRequests(); len(reqs) != 1 || string(reqs[0].Body) != body || reqs[0].Cache != "demo" {
		t.Errorf("requests = %+v", reqs)
	}
	if revs := s.Revisions("demo", "hello.x86_64-linux"); len(revs) != 1 || revs[0].Revision != 3 {
		t.Errorf("revisions = %+v", revs)
	}
}
