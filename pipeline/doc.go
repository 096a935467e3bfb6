// Package pipeline is gen's pipeline, from typed options to written images:
// it resolves a profile against a distro's signed index for each
// platform (resolve.go, with its memo in resmemo.go), plans the build
// from a resolution or a lockfile (genplan.go), builds each platform's
// image through packages and assemble (genbuild.go, memo.go), adds what
// a team brings (custom.go: CAs, host files, accounts; settings.go;
// user.go; the application layers of app.go, applibs.go and appnpm.go),
// attaches SBOMs, provenance and signatures (genattach.go, sbomgen.go,
// supplychain.go) and hands the result to publish (genoutput.go).
//
// Resolve, Why and ListProfiles answer questions about a profile
// without building (why.go, report.go, list.go).
//
// Options take typed values only; the command parses strings and flags
// into them, and errors name option fields (OptionError), never flags.
package pipeline
