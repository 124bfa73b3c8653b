package pins

// NixSystem maps Go's GOOS and GOARCH to the Nix system they run, such as
// x86_64-linux for linux/amd64; false when Nix has no name for them.
func NixSystem(goos, goarch string) (string, bool) {
	var arch, kernel string
	switch goarch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "aarch64"
	case "386":
		arch = "i686"
	case "arm":
		arch = "armv7l"
	case "ppc64le":
		arch = "powerpc64le"
	case "ppc64":
		arch = "powerpc64"
	case "loong64":
		arch = "loongarch64"
	case "mips64le":
		arch = "mips64el"
	case "mipsle":
		arch = "mipsel"
	case "riscv64", "s390x", "mips64", "mips":
		arch = goarch
	default:
		return "", false
	}
	switch goos {
	case "linux", "android":
		kernel = "linux"
	case "darwin", "freebsd", "netbsd", "openbsd":
		kernel = goos
	default:
		return "", false
	}
	return arch + "-" + kernel, true
}
