package pins

import (
	"regexp"
	"strings"
)

// systemPattern matches Nix system doubles (ARCH-KERNEL) by shape rather than by a
// fixed list, so that new architectures work without a release, while words like
// "static-linux" in pin names are not mistaken for systems.
var systemPattern = regexp.MustCompile(`^(` +
	`x86_64|i[3-6]86|aarch64(_be)?|arm(v[5-8][a-z0-9]*)?|` +
	`powerpc(64)?(le)?|riscv(32|64)|mips(64)?(el)?|mipsisa(32|64)r6(el)?|` +
	`s390x?|loongarch64|wasm(32|64)|m68k|sparc(64)?|or1k|microblaze(el)?|` +
	`vc4|avr|javascript|mmix|rx|msp430|alpha|ia64` +
	`)-(` +
	`linux|darwin|freebsd[0-9]*|netbsd|openbsd|windows|cygwin|wasi|redox|genode|none|ghcjs|solaris|illumos|mmixware` +
	`)$`)

// IsSystem reports whether s is a Nix system double such as x86_64-linux.
func IsSystem(s string) bool {
	switch s {
	case "x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin":
		return true // nearly every pin: no regular expression to run
	}
	return strings.IndexByte(s, '-') > 0 && systemPattern.MatchString(s)
}

// NearSystem reports whether s, the last dot-separated part of a pin name,
// is not a system but looks like one mistyped (x86_64-Linux,
// aarch64-linux-musl): such a pin is offered on every system, which its
// author hardly meant.
func NearSystem(s string) bool {
	if IsSystem(s) {
		return false
	}
	l := strings.ToLower(s)
	arch, _, ok := strings.Cut(l, "-")
	return IsSystem(l) || ok && systemPattern.MatchString(arch+"-linux")
}

// SplitName splits a Cachix pin name into the attribute name and its system.
// Only the last dot-separated part can be a system; every other dot stays in the
// name, so "tool.v2.x86_64-linux" is "tool.v2" on x86_64-linux and "v1.7" is
// system-less.
func SplitName(pinName string) (name, system string) {
	i := strings.LastIndexByte(pinName, '.')
	if i < 0 || !IsSystem(pinName[i+1:]) {
		return pinName, ""
	}
	return pinName[:i], pinName[i+1:]
}
