package action_test

import (
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// TestRunnerS3Mode: the action in s3 mode, with AWS credentials in the
// step's env as configure-aws-credentials leaves them, publishes to the
// bucket and says where consumers fetch it; the same pins again change
// nothing; the secret key is never shown.
func TestRunnerS3Mode(t *testing.T) {
	srv := s3server.Start(t)
	srv.CreateBucket(t, "pins")
	srv.AllowAnonymousRead(t, "pins")
	f := startFakes(t)
	r := f.runner(t)
	r.env = srv.CLIEnv()
	site := srv.ObjectURL("pins", "octo/")
	with := f.with(map[string]string{"mode": "s3", "s3-url": "s3://pins/octo", "s3-endpoint": srv.URL, "site-url": site})
	for i, changed := range []string{"true", "false"} {
		res := r.run(with)
		defer logStep(t, "s3 run", res)
		if res.code != 0 {
			t.Fatalf("run %d: exit code %d, want 0", i+1, res.code)
		}
		checkMasking(t, res, f.secrets())
		checkOutputs(t, res.outputs, map[string]string{"pins": "7", "url": site + "pins", "changed": changed, "flake-ref": ""})
		for where, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "the job summary": res.summary} {
			if strings.Contains(text, srv.SecretKey) {
				t.Errorf("run %d: %s shows the AWS secret key", i+1, where)
			}
		}
		if strings.Contains(res.stdout+res.stderr, "consumers cannot read the site") || strings.Contains(res.stdout+res.stderr, "does not serve this publish") {
			t.Errorf("run %d: a warning that the site is not served at %s, which serves it", i+1, site)
		}
		if !strings.Contains(res.summary, site+"pins") {
			t.Errorf("run %d: the job summary does not show %spins", i+1, site)
		}
	}
}
