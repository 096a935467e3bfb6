package distroless

import (
	"testing"
	"time"

	"github.com/distroless-dev/distroless/assemble"
	"github.com/distroless-dev/distroless/pipeline"
)

// TestReleaseSandboxLimits: release's sandbox limits (--sandbox-timeout)
// reach the build of every image of its matrix.
func TestReleaseSandboxLimits(t *testing.T) {
	o := &ReleaseOptions{GenOptions: pipeline.GenOptions{Sandbox: assemble.SandboxLimits{Wall: 3 * time.Hour}}}
	if g := o.genOptions(releaseBuild{}, pipeline.User{}, nil); g.Sandbox.Wall != 3*time.Hour {
		t.Errorf("an image's build has the sandbox limits %+v, want a wall-clock limit of 3h", g.Sandbox)
	}
}
